"""Pool behaviour seen from outside: time limits, child recycling and lost children."""
from __future__ import annotations

import time

import pytest

from celery import states
from celery.exceptions import TimeLimitExceeded, WorkerLostError
from t.integration.worker.conftest import wait_for

pytestmark = pytest.mark.timeout(120) if hasattr(pytest.mark, 'timeout') else []

REDIS_ONLY = pytest.mark.parametrize('broker_url', ['redis'], indirect=True)


@REDIS_ONLY
def test_soft_and_hard_time_limits(scenario):
    worker = scenario.start('-c', '1', '--soft-time-limit', '0.5', '--time-limit', '1.5')
    soft = scenario.send('catch_soft_limit', (3,))
    assert soft.get(timeout=10) == 'soft limit caught'
    first_child = worker.child_pids()
    hard = scenario.send('sleep_then', (10,), soft_time_limit=5, time_limit=1)
    with pytest.raises(TimeLimitExceeded):
        hard.get(timeout=10)
    assert hard.state == states.FAILURE
    worker.wait_for(r'Hard time limit \(1(\.0)?s\) exceeded for workerapp\.sleep_then', timeout=5)
    # The killed child is replaced and the next task runs.
    assert scenario.send('add', (1, 2)).get(timeout=10) == 3
    assert worker.child_pids() != first_child


@REDIS_ONLY
def test_max_tasks_per_child_replaces_the_child(scenario):
    scenario.start('-c', '1', '--max-tasks-per-child', '2')
    pids = [scenario.send('pid').get(timeout=10) for _ in range(6)]
    assert len(set(pids)) == 3, pids
    assert pids[0] == pids[1] and pids[2] == pids[3] and pids[4] == pids[5]


@REDIS_ONLY
def test_max_memory_per_child_replaces_the_child(scenario):
    # 40 MB more than the limit (KiB) once the child grows by 60 MB.
    scenario.start('-c', '1', '--max-memory-per-child', str(40 * 1024))
    first = scenario.send('hog', (60,)).get(timeout=10)
    second = scenario.send('pid').get(timeout=10)
    assert first != second


def test_sigkill_of_child_with_acks_late_requeues(scenario):
    worker = scenario.start('-c', '2')
    result = scenario.send('die_once_requeued', ('late',))
    # reject_on_worker_lost: redelivered and executed by the replacement child.
    assert result.get(timeout=20) == 'survived'
    assert worker.proc.poll() is None
    assert scenario.send('add', (2, 3)).get(timeout=10) == 5


@REDIS_ONLY
def test_sigkill_of_child_without_acks_late_fails_the_task(scenario):
    worker = scenario.start('-c', '2')
    result = scenario.send('die_once', ('early',))
    with pytest.raises(WorkerLostError):
        result.get(timeout=20)
    assert result.state == states.FAILURE
    worker.wait_for('WorkerLostError', timeout=5)
    assert scenario.send('add', (2, 3)).get(timeout=10) == 5
    # Acked early: the message is gone, not redelivered.
    assert wait_for(lambda: scenario.queue_size() == 0, timeout=5)


@REDIS_ONLY
def test_disable_prefetch_leaves_messages_on_the_broker(scenario):
    scenario.start('-c', '1', '--disable-prefetch')
    results = [scenario.send('slow_late', (1.0, f'p{i}')) for i in range(3)]
    scenario.wait_events('start', marker='p0')
    time.sleep(0.3)
    # Only the running task was taken: the other two wait on the broker.
    assert scenario.queue_size() == 2
    assert [r.get(timeout=15) for r in results] == ['p0', 'p1', 'p2']


@REDIS_ONLY
def test_prefetch_multiplier_takes_more(scenario):
    scenario.start('-c', '1', '--prefetch-multiplier', '4')
    results = [scenario.send('slow_late', (1.0, f'm{i}')) for i in range(3)]
    scenario.wait_events('start', marker='m0')
    time.sleep(0.3)
    assert scenario.queue_size() == 0
    assert [r.get(timeout=15) for r in results] == ['m0', 'm1', 'm2']


@REDIS_ONLY
def test_retry_on_worker_lost_runs_the_task_again(scenario):
    scenario.start('-c', '1', conf={'task_retry_on_worker_lost': True})
    result = scenario.send('die_until', ('retried', 1))
    # The first attempt's process was killed: the second attempt returns.
    assert result.get(timeout=20) == 1
    assert result.state == states.SUCCESS
    assert scenario.send('add', (2, 3)).get(timeout=10) == 5


@REDIS_ONLY
def test_retry_on_worker_lost_fails_once_retries_run_out(scenario):
    scenario.start('-c', '1', conf={'task_retry_on_worker_lost': True})
    result = scenario.send('die_until', ('always', 5))  # max_retries=2
    with pytest.raises(WorkerLostError):
        result.get(timeout=30)
    assert result.state == states.FAILURE
    assert len(list(scenario.dir.glob('always.attempt*'))) == 3


@REDIS_ONLY
def test_worker_lost_fails_without_retry_on_worker_lost(scenario):
    scenario.start('-c', '1')
    result = scenario.send('die_until', ('failed', 1))
    with pytest.raises(WorkerLostError):
        result.get(timeout=20)
    assert result.state == states.FAILURE
    assert len(list(scenario.dir.glob('failed.attempt*'))) == 1


@REDIS_ONLY
@pytest.mark.parametrize('method', ['spawn', 'forkserver'])
def test_pool_start_method(scenario, method):
    scenario.start('-c', '1', conf={'worker_pool_start_method': method})
    assert scenario.send('add', (2, 3)).get(timeout=30) == 5
    scenario.wait_events('task_success')


@REDIS_ONLY
def test_a_child_that_never_comes_up_is_replaced(scenario):
    worker = scenario.start('-c', '1', conf={'worker_proc_alive_timeout': 1.0},
                            environ={'WORKER_TEST_STALL_INIT': '1'})
    stalled = scenario.wait_events('stalled')[0]['pid']
    assert scenario.send('pid').get(timeout=20) != stalled
    worker.wait_for('Timed out waiting for UP message', timeout=5)

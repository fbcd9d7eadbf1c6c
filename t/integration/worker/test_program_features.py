"""Worker features beyond plain execution: embedded beat, autoscale, ETA prefetch, dedup."""
from __future__ import annotations

import importlib.util
import time

import pytest

from celery import states
from t.integration.worker.conftest import wait_for

pytestmark = pytest.mark.timeout(120) if hasattr(pytest.mark, 'timeout') else []

REDIS_ONLY = pytest.mark.parametrize('broker_url', ['redis'], indirect=True)


def _beat_conf(scenario):
    return {'beat_schedule': {'tick': {'task': 'workerapp.stamp', 'schedule': 0.5,
                                       'args': ['beat'], 'options': {'queue': scenario.queue}}}}


@REDIS_ONLY
@pytest.mark.parametrize('pool', ['prefork', 'threads'])
def test_embedded_beat(scenario, tmp_path, pool):
    worker = scenario.start('-B', '-P', pool, '-s', str(tmp_path / 'schedule'),
                            conf=_beat_conf(scenario))
    scenario.wait_events('stamp', count=2, timeout=10, marker='beat')
    assert worker.proc.poll() is None


@REDIS_ONLY
def test_embedded_beat_refused_with_green_pool(scenario, tmp_path):
    if importlib.util.find_spec('eventlet') is None:  # not imported: it hooks fork()
        pytest.skip('eventlet is not installed')
    worker = scenario.start('-B', '-P', 'eventlet', ready=False)
    assert worker.wait(timeout=30) != 0
    assert "-B option doesn't work with eventlet/gevent pools" in worker.output


@REDIS_ONLY
def test_autoscale_grows_and_shrinks(scenario):
    worker = scenario.start('--autoscale', '3,1', environ={'AUTOSCALE_KEEPALIVE': '1'})
    assert len(worker.child_pids()) == 1
    started = time.monotonic()
    results = [scenario.send('sleep_then', (2.0, i)) for i in range(3)]
    assert wait_for(lambda: len(worker.child_pids()) == 3, timeout=10), worker.output
    assert [r.get(timeout=15) for r in results] == [0, 1, 2]
    # Three in parallel: less than the six seconds they take one after another.
    assert time.monotonic() - started < 5.9
    assert wait_for(lambda: len(worker.child_pids()) == 1, timeout=10), worker.output
    assert scenario.send('add', (1, 1)).get(timeout=10) == 2


def _prefetch_count(scenario):
    replies = scenario.client.control.inspect(timeout=1).stats() or {}
    mine = [stats for name, stats in replies.items() if scenario.unique in name]
    return mine[0].get('prefetch_count') if mine else None


def test_eta_tasks_raise_prefetch_and_lower_it_after(scenario):
    scenario.start('-c', '1', '--prefetch-multiplier', '1')
    delayed = [scenario.send('add', (i, 0), countdown=2) for i in range(3)]
    # The ETA tasks hold the prefetch window open: a plain task still runs now.
    assert scenario.send('add', (5, 5)).get(timeout=1.5) == 10
    assert all(r.state == states.PENDING for r in delayed)
    assert wait_for(lambda: _prefetch_count(scenario) == 4, timeout=5)
    assert [r.get(timeout=10) for r in delayed] == [0, 1, 2]
    assert wait_for(lambda: _prefetch_count(scenario) == 1, timeout=5)


@REDIS_ONLY
def test_eta_task_limit_stops_fetching(scenario):
    scenario.start('-c', '1', '--prefetch-multiplier', '1', conf={'worker_eta_task_limit': 2})
    delayed = [scenario.send('add', (i, 0), countdown=2) for i in range(5)]
    # One in the base window plus two more: the rest stays on the broker.
    assert wait_for(lambda: scenario.queue_size() == 2, timeout=5)
    time.sleep(0.3)
    assert scenario.queue_size() == 2
    assert [r.get(timeout=15) for r in delayed] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize('broker_url', ['amqp'], indirect=True)
def test_deduplicate_successful_tasks(scenario):
    from kombu import Consumer, Queue
    done = scenario.send('stamp', ('original',))
    scenario.client.backend.mark_as_done(done.id, 'already done')
    # Take the message once and put it back: the broker flags it redelivered.
    with scenario.client.connection_for_read() as conn:
        seen = []
        with Consumer(conn, [Queue(scenario.queue)], accept=['json'],
                      on_message=lambda m: (seen.append(m), m.requeue())):
            while not seen:
                conn.drain_events(timeout=5)
    worker = scenario.start(conf={'worker_deduplicate_successful_tasks': True,
                                  'task_acks_late': True})
    worker.wait_for('Task already completed successfully', timeout=10)
    assert scenario.send('add', (1, 1)).get(timeout=10) == 2
    assert not scenario.events('stamp')
    assert done.get(timeout=1) == 'already done'

"""What a user observes of task execution on the real ``celery worker`` program.

One worker per broker serves every test in this module (starting one costs
half a second; tests use distinct task ids so they never see each other).
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from celery import states
from celery.exceptions import MaxRetriesExceededError, TaskRevokedError
from t.conftest import AMQP_URL, REDIS_URL
from t.integration.worker.conftest import Scenario, wait_for

pytestmark = pytest.mark.timeout(120) if hasattr(pytest.mark, 'timeout') else []


@pytest.fixture(scope='module', params=['amqp', 'redis'])
def worker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Scenario]:
    """A worker with track_started and result_extended on, shared by the module."""
    url = AMQP_URL if request.param == 'amqp' else REDIS_URL
    env = Scenario(url, uuid.uuid4().hex[:12], tmp_path_factory.mktemp('tasks'))
    env.start('-c', '2', conf={'task_track_started': True, 'result_extended': True})
    yield env
    env.close()


def _new_id() -> str:
    return uuid.uuid4().hex


def test_result_and_success_signals(worker):
    result = worker.send('handled', ('ok',))
    assert result.get(timeout=10) == 'ok'
    assert result.state == states.SUCCESS
    tid = result.id
    for kind in ('task_received', 'task_prerun', 'before_start', 'on_success',
                 'task_success', 'after_return', 'task_postrun'):
        worker.wait_events(kind, task_id=tid)
    postrun = worker.wait_events('task_postrun', task_id=tid)[0]
    assert postrun['state'] == states.SUCCESS and postrun['retval'] == 'ok'
    assert worker.wait_events('after_return', task_id=tid)[0]['status'] == states.SUCCESS
    assert worker.wait_events('on_success', task_id=tid)[0]['retval'] == 'ok'


def test_failure_state_handlers_and_signals(worker):
    result = worker.send('handled', ('fail',))
    with pytest.raises(ValueError, match='handled failure'):
        result.get(timeout=10)
    assert result.state == states.FAILURE
    assert 'ValueError' in result.traceback
    tid = result.id
    failure = worker.wait_events('task_failure', task_id=tid)[0]
    assert 'handled failure' in failure['exception'] and failure['einfo']
    assert worker.wait_events('on_failure', task_id=tid)[0]['einfo']
    assert worker.wait_events('after_return', task_id=tid)[0]['status'] == states.FAILURE
    assert worker.wait_events('task_postrun', task_id=tid)[0]['state'] == states.FAILURE


def test_retry_keeps_the_id_and_signals(worker):
    result = worker.send('handled', ('retry',))
    assert result.get(timeout=10) == 'retry'
    tid = result.id
    assert 'again' in worker.wait_events('task_retry', task_id=tid)[0]['reason']
    worker.wait_events('on_retry', task_id=tid)
    # Two runs under the same id: the retry, then the success.
    worker.wait_events('task_prerun', count=2, task_id=tid)
    postruns = worker.wait_events('task_postrun', count=2, task_id=tid)
    # The retry is published before the first run's postrun: order may vary.
    assert sorted(p['state'] for p in postruns) == [states.RETRY, states.SUCCESS]


def test_autoretry_with_backoff(worker):
    started = time.monotonic()
    result = worker.send('flaky', (2,))
    assert result.get(timeout=15) == 2
    # Backoff 0.1 s then 0.2 s (no jitter) before the third run.
    assert time.monotonic() - started >= 0.25
    assert len(worker.wait_events('task_retry', count=2, task_id=result.id)) == 2


def test_max_retries_exceeded(worker):
    result = worker.send('retry_forever')
    with pytest.raises(MaxRetriesExceededError):
        result.get(timeout=15)
    assert result.state == states.FAILURE


def test_link_and_link_error(worker):
    callback = worker.client.signature('workerapp.add', args=(10,), queue=worker.queue)
    result = worker.send('add', (1, 2), link=callback)
    assert result.get(timeout=10) == 3
    child = worker.client.AsyncResult(callback.id) if callback.id else None
    assert wait_for(lambda: child is None or child.state == states.SUCCESS, timeout=10)
    errback = worker.client.signature('workerapp.on_error', queue=worker.queue)
    failed = worker.send('boom', ('linked',), link_error=errback)
    with pytest.raises(ValueError):
        failed.get(timeout=10)
    event = worker.wait_events('errback', task_id=failed.id)[0]
    assert 'linked' in event['exc']


def test_link_callback_gets_the_result(worker):
    callback = worker.client.signature('workerapp.stamp', queue=worker.queue)
    marker = _new_id()
    callback = worker.client.signature('workerapp.add', args=(100,), queue=worker.queue,
                                       task_id=marker)
    worker.send('add', (1, 2), link=callback).get(timeout=10)
    assert worker.client.AsyncResult(marker).get(timeout=10) == 103


def test_reject_and_ignore(worker):
    rejected = worker.send('rejects')
    ignored = worker.send('ignores')
    assert worker.wait_events('task_postrun', task_id=rejected.id)[0]['state'] == states.REJECTED
    assert worker.wait_events('task_postrun', task_id=ignored.id)[0]['state'] == states.IGNORED
    # As in Celery, neither state is stored and neither message comes back.
    time.sleep(0.3)
    assert worker.queue_size() == 0
    ran = [e['task_id'] for e in worker.events('task_prerun')]
    assert ran.count(rejected.id) == 1 and ran.count(ignored.id) == 1
    assert not worker.events('after_return') or all(
        e['task_id'] not in (rejected.id, ignored.id) for e in worker.events('after_return'))
    assert worker.send('add', (2, 2)).get(timeout=10) == 4


def test_track_started_and_result_extended(worker):
    result = worker.send('tracked', (1.0,), kwargs={'k': 1})
    assert wait_for(lambda: result.state == states.STARTED, timeout=10), result.state
    info = result.info
    assert info['pid'] and info['hostname'].startswith('wb')
    value = result.get(timeout=10)
    assert value['hostname'].startswith('wb')
    meta = worker.client.backend.get_task_meta(result.id, cache=False)
    assert meta['name'] == 'workerapp.tracked'
    assert meta['args'] == [1.0] and meta['kwargs'] == {'k': 1}
    assert meta['queue'] == worker.queue
    assert meta['worker'].startswith('wb')


def test_eta_and_countdown(worker):
    sent = time.time()
    countdown = worker.send('stamp', ('countdown',), countdown=1)
    assert countdown.get(timeout=10) - sent >= 0.95
    eta = worker.send('stamp', ('eta',), eta=datetime.now(timezone.utc) + timedelta(seconds=1))
    assert eta.get(timeout=10) - sent >= 0.95


def test_expires_revokes_with_expired_flag(worker):
    result = worker.send('stamp', ('expired',), countdown=0.5, expires=0.2)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=10)
    assert result.state == states.REVOKED
    assert worker.wait_events('task_revoked', task_id=result.id)[0]['expired'] is True
    assert not [e for e in worker.events('stamp') if e['marker'] == 'expired']


def test_remote_revoke_before_eta(worker):
    result = worker.send('stamp', ('revoked',), countdown=1.5)
    worker.client.control.revoke(result.id)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=10)
    event = worker.wait_events('task_revoked', task_id=result.id)[0]
    assert event['expired'] is False
    time.sleep(0.3)
    assert not [e for e in worker.events('stamp') if e['marker'] == 'revoked']


def test_rate_limit(worker):
    marker = _new_id()
    results = [worker.send('limited', (marker,)) for _ in range(5)]
    times = sorted(r.get(timeout=15) for r in results)
    # 4/s: the fifth task starts at least ~0.75 s after the first (bucket capacity 1).
    assert times[-1] - times[0] >= 0.7


def test_protocol1_message(worker):
    task_id = _new_id()
    body = {'task': 'workerapp.add', 'id': task_id, 'args': [3, 4], 'kwargs': {},
            'retries': 0, 'eta': None, 'expires': None}
    worker.publish_raw(json.dumps(body), headers={})
    assert worker.client.AsyncResult(task_id).get(timeout=10) == 7


@pytest.mark.parametrize('case', ['unknown', 'undecodable', 'not_accepted', 'missing_id',
                                  'not_a_task', 'bad_eta', 'kwargs_not_mapping'])
def test_bad_message_is_rejected_and_worker_goes_on(worker, case):
    task_id = _new_id()
    before = worker.send('add', (1, 1))
    headers = {'task': 'workerapp.add', 'id': task_id, 'lang': 'py', 'retries': 0,
               'root_id': task_id, 'parent_id': None, 'group': None}
    body, content_type = '[[1, 2], {}, {}]', 'application/json'
    if case == 'unknown':
        headers['task'] = 'no.such.task'
    elif case == 'undecodable':
        body = '[[1, 2'
    elif case == 'not_accepted':
        body, content_type = 'x', 'application/x-python-serialize'
    elif case == 'missing_id':
        del headers['id']
    elif case == 'not_a_task':
        headers, body = {}, '{"hello": "world"}'
    elif case == 'bad_eta':
        headers['eta'] = 'not a date'
    elif case == 'kwargs_not_mapping':
        body = '[[1, 2], [1], {}]'
    worker.publish_raw(body, headers=headers, content_type=content_type)
    after = worker.send('add', (2, 2))
    assert before.get(timeout=10) == 2
    assert after.get(timeout=10) == 4
    workers_log = worker.workers[0]
    if case == 'unknown':
        worker.wait_events('task_unknown', task_id=task_id)
        workers_log.wait_for(f"Received unregistered task of type 'no.such.task', id '{task_id}'",
                             timeout=5)
        assert worker.client.AsyncResult(task_id).state == states.FAILURE
    elif case == 'kwargs_not_mapping':
        assert wait_for(lambda: worker.client.AsyncResult(task_id).state == states.FAILURE,
                        timeout=10)
    else:
        assert wait_for(lambda: any(task_id in json.dumps(e) or case == 'not_a_task'
                                    for e in worker.events('task_rejected')), timeout=10)
        if case != 'not_a_task':
            workers_log.wait_for(task_id if case != 'missing_id' else 'missing', timeout=5)
    # Rejected without requeue: nothing is left behind or redelivered.
    time.sleep(0.3)
    assert worker.queue_size() == 0
    assert worker.workers[0].proc.poll() is None


def test_revoke_with_terminate_kills_the_running_task(worker):
    result = worker.send('slow_late', (30.0, 'terminated'))
    worker.wait_events('start', marker='terminated')
    worker.client.control.revoke(result.id, terminate=True, signal='SIGKILL')
    with pytest.raises(TaskRevokedError):
        result.get(timeout=10)
    event = worker.wait_events('task_revoked', task_id=result.id)[0]
    assert event['terminated'] is True
    assert not [e for e in worker.events('end') if e['marker'] == 'terminated']
    assert worker.send('add', (1, 1)).get(timeout=10) == 2


def test_revoke_of_a_task_waiting_for_a_free_process(worker):
    busy_markers = [f'busy-{_new_id()}' for _ in range(2)]
    busy = [worker.send('slow_late', (3.0, marker)) for marker in busy_markers]
    for marker in busy_markers:
        worker.wait_events('start', marker=marker)
    marker = f'queued-{_new_id()}'
    queued = worker.send('stamp', (marker,))
    after = worker.send('add', (5, 5))
    time.sleep(0.3)   # both reach the worker and wait for a free process
    worker.client.control.revoke(queued.id)
    with pytest.raises(TaskRevokedError):
        queued.get(timeout=10)
    assert after.get(timeout=10) == 10
    assert [r.get(timeout=10) for r in busy] == busy_markers
    assert not [e for e in worker.events('stamp') if e['marker'] == marker]

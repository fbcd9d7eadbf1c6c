"""rpc:// against real RabbitMQ: results as messages to this thread's reply queue."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from celery import states
from celery.exceptions import TimeoutError
from t.conftest import AMQP_URL


@pytest.fixture
def app(unique):
    from celery import Celery
    application = Celery(f'rpc-{unique}', set_as_current=False, broker=AMQP_URL,
                         backend='rpc://')
    application.conf.result_expires = 60
    with application.producer_or_acquire() as producer:
        application.backend.on_task_call(producer, 'declare')
    yield application
    application.backend.result_consumer.stop()
    application.close()


def request_for(app, task_id):
    return SimpleNamespace(reply_to=app.thread_oid, correlation_id=task_id, group=None,
                           parent_id=None, chord=None, children=[], ignore_result=False)


def test_result_pushed_to_reply_queue(app, unique) -> None:
    backend = app.backend
    backend.store_result(unique, None, states.STARTED, request=request_for(app, unique))
    threading.Timer(0.2, backend.mark_as_done,
                    (unique, {'answer': 42}), {'request': request_for(app, unique)}).start()
    start = time.monotonic()
    assert app.AsyncResult(unique).get(timeout=5, interval=10) == {'answer': 42}
    assert time.monotonic() - start < 3


def test_failure_and_propagate_false(app, unique) -> None:
    app.backend.mark_as_failure(unique, ZeroDivisionError('x'), traceback='TB',
                                request=request_for(app, unique))
    result = app.AsyncResult(unique)
    with pytest.raises(ZeroDivisionError):
        result.get(timeout=5)
    assert isinstance(result.get(propagate=False), ZeroDivisionError)
    assert result.traceback == 'TB'


def test_get_timeout(app, unique) -> None:
    with pytest.raises(TimeoutError):
        app.AsyncResult(unique).get(timeout=0.3)


def test_results_for_other_tasks_are_buffered(app, unique) -> None:
    first, second = f'{unique}-1', f'{unique}-2'
    app.backend.mark_as_done(second, 2, request=request_for(app, second))
    app.backend.mark_as_done(first, 1, request=request_for(app, first))
    assert app.AsyncResult(first).get(timeout=5) == 1
    assert app.AsyncResult(second).get(timeout=5) == 2


def test_state_without_waiting(app, unique) -> None:
    app.backend.mark_as_done(unique, 'v', request=request_for(app, unique))
    deadline = time.monotonic() + 5
    result = app.AsyncResult(unique)
    while result.state != states.SUCCESS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert result.state == states.SUCCESS and result.result == 'v'


def test_chords_not_supported(app) -> None:
    with pytest.raises(NotImplementedError, match='does not support chords'):
        app.backend.ensure_chords_allowed()


def _peek_reply(app, timeout: float = 5):
    """Read (and requeue) the first message of this thread's reply queue."""
    from kombu import Connection
    deadline = time.monotonic() + timeout
    with Connection(AMQP_URL) as conn:
        queue = app.backend.binding(conn.default_channel)
        while time.monotonic() < deadline:
            message = queue.get(no_ack=False)
            if message is not None:
                properties = dict(message.properties)
                message.requeue()
                return properties
            time.sleep(0.02)
    raise AssertionError('no reply message arrived')


@pytest.mark.parametrize(('persistent', 'delivery_mode'), [(True, 2), (False, 1), (None, 1)])
def test_result_persistent_sets_the_delivery_mode(unique, persistent, delivery_mode) -> None:
    from celery import Celery
    app = Celery(f'rpc-p-{unique}', set_as_current=False, broker=AMQP_URL, backend='rpc://')
    app.conf.update(result_expires=60, result_persistent=persistent)
    try:
        with app.producer_or_acquire() as producer:
            app.backend.on_task_call(producer, unique)
        app.backend.mark_as_done(unique, 'kept', request=request_for(app, unique))
        properties = _peek_reply(app)
        assert properties['delivery_mode'] == delivery_mode
        assert properties['correlation_id'] == unique
        assert app.AsyncResult(unique).get(timeout=5) == 'kept'
    finally:
        app.backend.result_consumer.stop()
        app.close()


def test_each_client_thread_has_its_own_reply_queue(app, unique) -> None:
    seen: dict[str, object] = {}
    ready = threading.Barrier(3, timeout=10)

    def client(name: str) -> None:
        task_id = f'{unique}-{name}'
        try:
            with app.producer_or_acquire() as producer:
                app.backend.on_task_call(producer, task_id)
            seen[f'{name}-queue'] = app.thread_oid
            ready.wait()
            seen[name] = app.AsyncResult(task_id).get(timeout=10)
            seen[f'{name}-backend'] = id(app.backend)
        except Exception as exc:  # noqa: BLE001 - asserted below
            seen[name] = exc
    threads = [threading.Thread(target=client, args=(name,)) for name in ('a', 'b')]
    for thread in threads:
        thread.start()
    ready.wait()
    for name in ('a', 'b'):
        request = request_for(app, f'{unique}-{name}')
        request.reply_to = seen[f'{name}-queue']
        app.backend.mark_as_done(f'{unique}-{name}', f'for {name}', request=request)
    for thread in threads:
        thread.join(15)
    assert (seen['a'], seen['b']) == ('for a', 'for b')
    assert len({seen['a-queue'], seen['b-queue'], app.thread_oid}) == 3
    assert seen['a-backend'] != seen['b-backend']


def test_backlog_limit_exceeded_after_1000_states_for_one_id(app, unique) -> None:
    from celery.backends.rpc import BacklogLimitExceeded
    request = request_for(app, unique)
    with app.producer_or_acquire() as producer:
        for n in range(1001):
            producer.publish({'task_id': unique, 'status': 'PROGRESS', 'result': n,
                              'traceback': None, 'children': [], 'date_done': None},
                             routing_key=app.thread_oid, correlation_id=unique,
                             serializer='json', retry=True)
    assert request.reply_to == app.thread_oid
    with pytest.raises(BacklogLimitExceeded):
        app.backend.get_task_meta(unique)


def test_state_history_is_fast_forwarded_to_the_newest(app, unique) -> None:
    request = request_for(app, unique)
    for n in range(20):
        app.backend.store_result(unique, {'step': n}, 'PROGRESS', request=request)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        meta = app.backend.get_task_meta(unique)
        if meta['result'] == {'step': 19}:
            break
        time.sleep(0.05)
    assert meta['status'] == 'PROGRESS' and meta['result'] == {'step': 19}

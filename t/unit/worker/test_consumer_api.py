"""The consumer's public names: connection-loss handling, loop callbacks, delayed delivery."""
from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest

from celery import Celery
from celery.worker.consumer import consumer as consumer_module
from celery.worker.consumer import delayed_delivery
from celery.worker.consumer.consumer import Consumer
from celery.worker.consumer.delayed_delivery import DelayedDelivery
from celery.worker.message_errors import dump_body
from celery.worker.state import active_requests


@pytest.fixture
def app():
    return Celery('consapi', broker='memory://', set_as_current=False)


def make(app, **kwargs):
    kwargs.setdefault('pool', SimpleNamespace())
    return Consumer(lambda request: None, app=app, **kwargs)


def test_module_names():
    assert consumer_module.COLLECT_SOCKET_TIMEOUT == 5.0
    assert consumer_module.CONNECTION_FAILOVER == 'Will retry using next failover.'
    assert 'worker_cancel_long_running_tasks_on_connection_loss' in \
        consumer_module.CANCEL_TASKS_BY_DEFAULT
    assert '%s' in consumer_module.TERMINATING_TASK_ON_RESTART_AFTER_A_CONNECTION_LOSS
    from celery.worker import state
    assert consumer_module.successful_requests is state.successful_requests
    report = consumer_module.MESSAGE_REPORT.format('b', 'json', 'utf-8', {'x': 1}, {'h': 2})
    assert report.startswith('body: b') and 'content_type:json' in report


def test_class_defaults():
    assert Consumer.broker_connection_retry_attempt == 0
    assert Consumer.init_callback is None and Consumer.pool is None and Consumer.timer is None


def test_max_prefetch_count_is_a_settable_property(app):
    consumer = make(app, initial_prefetch_count=8)
    assert isinstance(Consumer.__dict__['max_prefetch_count'], property)
    assert consumer.max_prefetch_count == 8
    consumer.max_prefetch_count = 12
    assert consumer.max_prefetch_count == 12


def test_cancel_active_requests_cancels_unacked_late_tasks(app):
    consumer = make(app)
    cancelled = []

    class Request:
        def __init__(self, acks_late, acknowledged):
            self.task = SimpleNamespace(acks_late=acks_late)
            self.acknowledged = acknowledged

        def humaninfo(self):
            return 'r'

        def cancel(self, pool):
            cancelled.append((self.task.acks_late, self.acknowledged))

    request = Request

    requests = [request(True, False), request(True, True), request(False, False)]
    active_requests.update(requests)
    try:
        consumer.cancel_active_requests()
    finally:
        active_requests.difference_update(requests)
    assert cancelled == [(True, False)]


def test_on_connection_error_before_connected_counts_attempts(app, caplog):
    consumer = make(app)
    with caplog.at_level(logging.INFO, logger='celery.worker.consumer.consumer'):
        consumer.on_connection_error_before_connected(OSError('refused'))
    assert consumer.broker_connection_retry_attempt == 1
    assert 'Cannot connect to' in caplog.text and 'Trying to reconnect' in caplog.text


def test_call_soon_passes_keyword_arguments_and_acks_go_first(app):
    consumer = make(app)
    seen = []
    consumer._thread_id = -1  # another thread consumes: operations are queued
    consumer.call_soon(lambda x, y=0: seen.append(('op', x, y)), 1, y=2)
    consumer.call_soon_ack(lambda: seen.append(('ack',)))
    assert seen == []
    consumer.perform_pending_operations()
    assert seen == [('ack',), ('op', 1, 2)]
    consumer._thread_id = threading.get_ident()
    consumer.call_soon_ack(seen.append, 'now')
    assert seen[-1] == 'now'


def test_connection_for_write_takes_a_heartbeat(app):
    consumer = make(app)
    conn = consumer.connection_for_write(heartbeat=5)
    try:
        assert conn.heartbeat == 5
    finally:
        conn.release()


def test_dump_body_falls_back_to_the_message_body():
    assert dump_body(SimpleNamespace(body=b'raw'), None) == "b'raw'"
    assert dump_body(m=None, body={'a': 1}) == "{'a': 1}"


def test_dump_body_of_a_long_decoded_body_gives_the_size_of_the_raw_body():
    # A decoded body (args, kwargs, embed) has items, not bytes: the size shown is the message's.
    raw = b'x' * 3000
    text = dump_body(SimpleNamespace(body=raw), (['x' * 2000], {}, {}))
    assert text.endswith('... (3000b)')
    assert len(text) == 1024 + len('... (3000b)')


def test_delayed_delivery_rejects_an_unknown_queue_type():
    # Settings validation refuses it too; a bare mapping reaches the step's own check.
    conf = {'broker_native_delayed_delivery_queue_type': 'stream'}
    assert delayed_delivery.VALID_QUEUE_TYPES == {'classic', 'quorum'}
    with pytest.raises(ValueError, match='stream'):
        DelayedDelivery(SimpleNamespace()).start(SimpleNamespace(app=SimpleNamespace(conf=conf)))


def test_delayed_delivery_retries_then_gives_up(app, monkeypatch):
    attempts = []

    def declare(self, c, queue_type):
        attempts.append(queue_type)
        raise ConnectionRefusedError('down')

    monkeypatch.setattr(DelayedDelivery, '_declare', declare)
    monkeypatch.setattr(delayed_delivery, 'RETRY_INTERVAL', 0)
    with pytest.raises(ConnectionRefusedError):
        DelayedDelivery(SimpleNamespace()).start(SimpleNamespace(app=app))
    assert attempts == ['quorum'] * delayed_delivery.MAX_RETRIES == ['quorum'] * 3
    assert ConnectionRefusedError in delayed_delivery.RETRIED_EXCEPTIONS


def _task_message(content_type):
    return SimpleNamespace(headers={'task': 'accepted.task'}, content_type=content_type,
                           ack_log_error=lambda *a: None, reject_log_error=lambda *a: None)


def test_without_an_accept_list_every_content_type_is_accepted(app):
    # accept_content=None is kombu's "accept anything": the handler must not test `in None`.
    app.conf.accept_content = None
    consumer = make(app)
    handled = []
    consumer.strategies['accepted.task'] = lambda message, *rest: handled.append(message)
    message = _task_message('application/x-python-serialize')
    consumer.create_task_handler()(message)
    assert handled == [message]


def test_a_queue_added_while_not_connected_is_consumed_once_connected(app):
    consumer = make(app)
    assert consumer.task_consumer is None
    consumer.add_task_queue('added.while.reconnecting')
    # Selected: the Tasks step consumes from every selected queue when it starts.
    assert 'added.while.reconnecting' in app.amqp.queues.consume_from

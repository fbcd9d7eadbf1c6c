"""EventDispatcher: envelope, groups, buffering; EventReceiver: clock and decoding."""
from __future__ import annotations

import json
from typing import Any

import pytest

from celery.events import Event, get_exchange, group_from


class RecordingProducer:
    def __init__(self) -> None:
        self.published: list[tuple[Any, dict]] = []

    def publish(self, body: Any, **kwargs: Any) -> None:
        self.published.append((body, kwargs))


@pytest.fixture
def dispatcher(app):
    d = app.events.Dispatcher(hostname='w1@x', enabled=True)
    d.producer = RecordingProducer()
    return d


def test_event_factory_and_group() -> None:
    event = Event('task-received', uuid='a')
    assert event['type'] == 'task-received' and event['timestamp'] > 0
    assert Event('x', timestamp=1.0)['timestamp'] == 1.0
    assert group_from('task-received') == 'task' and group_from('worker') == 'worker'


def test_exchange_is_fanout_on_redis(app) -> None:
    from kombu import Connection
    assert get_exchange(Connection('redis://')).type == 'fanout'
    assert get_exchange(Connection('amqp://'), name='ev').type == 'topic'
    assert get_exchange(Connection('amqp://'), name='ev').name == 'ev'


def test_send_adds_envelope_and_routing_key(dispatcher) -> None:
    dispatcher.send('task-succeeded', uuid='a', result='1', runtime=0.5)
    body, kwargs = dispatcher.producer.published[0]
    assert {'type', 'timestamp', 'hostname', 'utcoffset', 'pid', 'clock'} <= set(body)
    assert body['hostname'] == 'w1@x' and body['uuid'] == 'a'
    assert kwargs['routing_key'] == 'task.succeeded'
    assert kwargs['headers'] == {'hostname': 'w1@x'} and kwargs['delivery_mode'] == 1
    assert kwargs['serializer'] == 'json'


def test_groups_filter_events(dispatcher) -> None:
    dispatcher.groups = {'worker'}
    dispatcher.send('task-received', uuid='a')
    dispatcher.send('worker-heartbeat')
    assert [b['type'] for b, _ in dispatcher.producer.published] == ['worker-heartbeat']


def test_disabled_sends_nothing(dispatcher) -> None:
    dispatcher.enabled = False
    dispatcher.send('worker-heartbeat')
    assert dispatcher.producer.published == []


def test_buffered_group_is_flushed_as_one_message(app) -> None:
    flushes = []
    d = app.events.Dispatcher(hostname='w', buffer_group=['task'], buffer_limit=3,
                              on_send_buffered=lambda: flushes.append(1))
    d.producer = RecordingProducer()
    d.send('task-received', uuid='a')
    d.send('task-started', uuid='a')
    assert d.producer.published == [] and flushes == [1, 1]
    d.flush()
    body, kwargs = d.producer.published[0]
    # One JSON list, encoded compactly by the dispatcher itself.
    assert kwargs['content_type'] == 'application/json' and ',"' in body
    events = json.loads(body)
    assert [e['type'] for e in events] == ['task-received', 'task-started']
    assert {'timestamp', 'hostname', 'utcoffset', 'pid', 'clock', 'uuid'} <= set(events[0])
    assert kwargs['routing_key'] == 'task.multi'
    for _ in range(3):
        d.send('task-succeeded', uuid='a')
    assert len(d.producer.published) == 2  # the limit flushed without waiting


def test_publish_errors_are_buffered_and_resent(app) -> None:
    class Failing(RecordingProducer):
        fail = True

        def publish(self, body: Any, **kwargs: Any) -> None:
            if self.fail:
                raise ConnectionError('down')
            super().publish(body, **kwargs)

    d = app.events.Dispatcher(hostname='w')
    d.producer = Failing()
    d.send('worker-heartbeat')
    d.producer.fail = False
    d.flush()
    assert [b['type'] for b, _ in d.producer.published] == ['worker-heartbeat']


def test_receiver_adjusts_clock_and_handles_lists(app) -> None:
    from kombu import Connection
    seen = []
    with Connection('memory://') as conn:
        recv = app.events.Receiver(conn, handlers={'*': seen.append})
        recv._receive([{'type': 'task-started', 'clock': 50, 'timestamp': 1.0,
                        'utcoffset': 0, 'hostname': 'w'},
                       {'type': 'task-sent', 'clock': 1, 'hostname': 'c'}], None)
    assert app.clock.value >= 50
    assert [e['type'] for e in seen] == ['task-started', 'task-sent']
    assert all('local_received' in e for e in seen)
    assert seen[1]['clock'] < app.clock.value  # clients sort before workers


def test_receiver_rejects_exclusive_durable(app) -> None:
    from kombu import Connection

    from celery.exceptions import ImproperlyConfigured
    with pytest.raises(ImproperlyConfigured):
        app.events.Receiver(Connection('memory://'), queue_exclusive=True, queue_durable=True)


class FailingProducer(RecordingProducer):
    fail = True

    def publish(self, body: Any, **kwargs: Any) -> None:
        if self.fail:
            raise ConnectionError('down')
        super().publish(body, **kwargs)


def test_close_waits_for_a_publish_in_progress(app) -> None:
    import threading

    started, release = threading.Event(), threading.Event()

    class Slow(RecordingProducer):
        def publish(self, body: Any, **kwargs: Any) -> None:
            started.set()
            release.wait(5)
            super().publish(body, **kwargs)

    d = app.events.Dispatcher(hostname='w')
    d.producer = producer = Slow()
    sender = threading.Thread(target=d.send, args=('worker-heartbeat',))
    sender.start()
    assert started.wait(5)
    closer = threading.Thread(target=d.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # still waiting for the publish
    release.set()
    sender.join(5)
    closer.join(5)
    assert not closer.is_alive() and d.producer is None
    assert [b['type'] for b, _ in producer.published] == ['worker-heartbeat']


def test_send_after_close_does_nothing(app) -> None:
    d = app.events.Dispatcher(hostname='w', buffer_group=['task'])
    d.producer = RecordingProducer()
    d.close()
    d.send('worker-heartbeat')
    d.send('task-received', uuid='a')
    assert not d._outbound_buffer and not any(d._group_buffer.values())


def test_flush_keeps_buffers_until_enable(app) -> None:
    d = app.events.Dispatcher(hostname='w', buffer_group=['task'])
    d.producer = FailingProducer()
    d.send('worker-heartbeat')
    d.send('task-received', uuid='a')
    d.close()
    d.flush()
    assert len(d._outbound_buffer) == 1 and len(d._group_buffer['task']) == 1
    d.enable()
    d.producer = producer = RecordingProducer()
    d.flush()
    assert not d._outbound_buffer and not d._group_buffer['task']
    keys = [kw['routing_key'] for _, kw in producer.published]
    assert keys == ['worker.heartbeat', 'task.multi']


def test_offline_buffer_holds_no_exception(app) -> None:
    d = app.events.Dispatcher(hostname='w')
    d.producer = FailingProducer()
    d.send('worker-heartbeat')
    (entry,) = d._outbound_buffer
    assert len(entry) == 2 and entry[1] == 'worker.heartbeat'
    assert not any(isinstance(part, BaseException) for part in entry)


def test_failed_group_flush_is_rebuffered_as_one_batch(app) -> None:
    d = app.events.Dispatcher(hostname='w', buffer_group=['task'])
    d.producer = producer = FailingProducer()
    d.send('task-received', uuid='a')
    d.send('task-started', uuid='a')
    d.flush()
    (entry,) = d._outbound_buffer
    assert entry[1] == 'task.multi' and [e['type'] for e in entry[0]] == [
        'task-received', 'task-started']
    producer.fail = False
    d.flush()
    (body, kwargs), = producer.published
    assert kwargs['routing_key'] == 'task.multi'
    assert [e['type'] for e in json.loads(body)] == ['task-received', 'task-started']

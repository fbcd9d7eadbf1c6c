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

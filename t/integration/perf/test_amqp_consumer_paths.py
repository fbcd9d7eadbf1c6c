"""The owned consumer transport decodes the same messages as stock kombu, byte for byte."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.asynchronous import Hub

from celery import Celery
from celery.transport.pyamqp_consumer import Transport as ConsumerTransport
from t.servers import AMQP_URL

HEADERS: dict[str, Any] = {
    'text': 'héllo ✓', 'int': 7, 'big': 2**40, 'negative': -3, 'float': 1.5,
    'true': True, 'none': None, 'nested': {'a': [1, 'b', {'c': None}], 'd': 2.25},
    'list': ['x', 2, [3, 4]], 'empty': '', 'when': datetime(2026, 1, 2, 3, 4, 5),
}
PROPERTIES: dict[str, Any] = {
    'priority': 3, 'correlation_id': 'corr', 'reply_to': 'reply.q',
    'message_id': 'mid-1', 'timestamp': 1700000000, 'type': 'kind', 'app_id': 'app',
}


@pytest.fixture
def twin_queues(unique: str) -> Iterator[tuple[Queue, Queue]]:
    """Two queues bound to one fanout exchange: each gets every message."""
    exchange = Exchange(f'x.paths.{unique}', 'fanout', auto_delete=True)
    queues = (Queue(f'q.stock.{unique}', exchange), Queue(f'q.owned.{unique}', exchange))
    with Connection(AMQP_URL) as conn:
        for queue in queues:
            queue(conn.default_channel).declare()
    yield queues
    with Connection(AMQP_URL) as conn:
        for queue in queues:
            queue(conn.default_channel).delete()


def publish_samples(unique: str, queue: Queue) -> int:
    """Publish plain kombu messages and a celery task message; return how many."""
    with Connection(AMQP_URL) as conn:
        producer = Producer(conn.default_channel, exchange=queue.exchange)
        producer.publish({'n': 1}, headers=HEADERS, expiration=60, **PROPERTIES)
        producer.publish('text body ✓', serializer='json', delivery_mode=1)
        producer.publish(b'\x00\xffraw', content_type='application/data',
                         content_encoding='binary', headers={'bytes_key': 'v'})
        producer.publish({'big': 'x' * 300_000}, headers={'h': 1})   # several body frames
    app = Celery(f'paths{unique}', set_as_current=False, broker=AMQP_URL)
    try:
        with app.producer_or_acquire() as producer:
            app.send_task('paths.sample', args=(1, 'two'), kwargs={'k': [3]},
                          queue=queue, producer=producer,
                          countdown=10, headers={'extra': 'yes'})
    finally:
        app.close()
    return 5


def snapshot(message: Any) -> dict[str, Any]:
    """What a consumer sees of a message (the consumer tag differs by design)."""
    delivery_info = dict(message.delivery_info)
    delivery_info.pop('consumer_tag', None)
    return {'body': message.body, 'headers': message.headers,
            'properties': message.properties, 'delivery_info': delivery_info,
            'content_type': message.content_type,
            'content_encoding': message.content_encoding}


def consume_stock(queue: Queue, n: int) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    with Connection(AMQP_URL, transport='pyamqp') as conn:
        assert type(conn.transport).__module__ == 'kombu.transport.pyamqp'

        def on_message(message: Any) -> None:
            received.append(snapshot(message))
            message.ack()
        with Consumer(conn, [queue], on_message=on_message, prefetch_count=10):
            deadline = time.monotonic() + 10
            while len(received) < n and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
    return received


def consume_owned(queue: Queue, n: int) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    with Connection(AMQP_URL, transport=ConsumerTransport) as conn:
        conn.ensure_connection()
        assert conn.connection.on_inbound_frame.__module__ == 'celery.transport.amqp_frames'
        hub = Hub()
        channel = conn.default_channel
        channel.batch_acks(hub)

        def on_message(message: Any) -> None:
            received.append(snapshot(message))
            message.ack()
        with Consumer(conn, [queue], on_message=on_message, prefetch_count=10):
            deadline = time.monotonic() + 10
            while len(received) < n and time.monotonic() < deadline:
                # What the worker's event loop does when the socket is readable.
                conn.transport.on_readable(conn.connection, hub)
                channel.ack_batch.flush()
                time.sleep(0.01)
        channel.ack_batch.close()
        hub.close()
    return received


def test_owned_and_stock_consumers_decode_the_same_messages(
        twin_queues: tuple[Queue, Queue], unique: str):
    stock_queue, owned_queue = twin_queues
    n = publish_samples(unique, stock_queue)
    stock = consume_stock(stock_queue, n)
    owned = consume_owned(owned_queue, n)
    assert len(stock) == n, stock
    assert owned == stock
    assert [type(m['body']) for m in owned] == [type(m['body']) for m in stock]
    task = owned[-1]
    assert task['headers']['task'] == 'paths.sample' and task['headers']['extra'] == 'yes'
    with Connection(AMQP_URL) as conn:
        for queue in twin_queues:
            assert queue(conn.default_channel).queue_declare(passive=True).message_count == 0


def test_app_connections_use_the_owned_transports_unless_switched_off(
        monkeypatch: pytest.MonkeyPatch):
    from kombu.transport import pyamqp as stock

    from celery.transport import pyamqp as owned
    monkeypatch.setattr('celery.transport.ENABLED', True)   # whatever the environment says
    app = Celery('switch', set_as_current=False, broker=AMQP_URL)
    try:
        reading, writing = app.connection_for_read(), app.connection_for_write()
        assert type(reading.transport) is ConsumerTransport
        assert type(writing.transport) is owned.Transport
        # The connection still names the scheme, as with stock kombu.
        assert reading.transport_cls == writing.transport_cls == 'amqp'
        assert reading.info()['transport'] == 'amqp'
        assert reading.as_uri() == 'amqp://guest:**@127.0.0.1:5672//'
        assert type(reading.clone().transport) is ConsumerTransport

        app.conf.broker_transport_options = {'fast_path': False}
        for conn in (app.connection_for_read(), app.connection_for_write()):
            assert type(conn.transport) is stock.Transport
        app.conf.broker_transport_options = {}
        conn = app.connection_for_read(transport_options={'fast_path': False})
        assert type(conn.transport) is stock.Transport

        monkeypatch.setattr('celery.transport.ENABLED', False)
        for conn in (app.connection_for_read(), app.connection_for_write()):
            assert type(conn.transport) is stock.Transport
    finally:
        app.close()

"""The AMQP consumer writes a turn's acks together and reads whole frames without losing messages."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue
from kombu.asynchronous import Hub

from celery import Celery
from celery.transport.amqp_frames import FrameReadingTransport
from celery.transport.pyamqp_consumer import Transport as ConsumerTransport
from t.integration.worker.conftest import RunningWorker, wait_for
from t.servers import AMQP_URL, REDIS_URL


def consumer_connection() -> Connection:
    """A connection on the owned consumer transport."""
    return Connection(AMQP_URL, transport=ConsumerTransport)


class FrameReader:
    """What the event loop does when the connection's socket is readable."""

    def __init__(self, conn: Connection, hub: Hub) -> None:
        self.conn, self.hub = conn, hub
        self.transport = conn.connection.transport
        assert isinstance(self.transport, FrameReadingTransport)
        self.sock = self.transport.sock

    def on_readable(self) -> None:
        self.conn.transport.on_readable(self.conn.connection, self.hub)


def _ready_count(queue: str) -> int:
    with Connection(AMQP_URL) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


@pytest.fixture
def amqp_app(unique: str):
    app = Celery(f'acks{unique}', set_as_current=False, broker=AMQP_URL)
    app.conf.task_default_queue = f'q.acks.{unique}'
    yield app
    with Connection(AMQP_URL) as conn:
        Queue(app.conf.task_default_queue, channel=conn.default_channel).delete()
    app.close()


@pytest.fixture
def filled_queue(unique: str):
    """A queue holding five messages; deleted afterwards."""
    name = f'q.batch.{unique}'
    with Connection(AMQP_URL) as conn:
        queue = Queue(name, Exchange(''), routing_key=name, channel=conn.default_channel)
        queue.declare()
        producer = Producer(conn.default_channel)
        for i in range(5):
            producer.publish({'n': i}, routing_key=name)
    yield name
    with Connection(AMQP_URL) as conn:
        Queue(name, channel=conn.default_channel).delete()


@pytest.mark.parametrize('acks_late', [False, True])
def test_drain_acks_every_message(amqp_app: Celery, unique: str, acks_late: bool):
    counter = f'acks.count.{unique}'
    client = redis.Redis.from_url(REDIS_URL)

    @amqp_app.task(name='acks.count', ignore_result=True, acks_late=acks_late)
    def count() -> None:
        redis.Redis.from_url(REDIS_URL).incr(counter)

    with amqp_app.producer_or_acquire() as producer:
        for _ in range(400):
            count.apply_async(producer=producer)
    worker = RunningWorker(amqp_app).start()
    try:
        assert wait_for(lambda: int(client.get(counter) or 0) >= 400, timeout=60)
    finally:
        worker.stop()
    # An ack still buffered at shutdown would put its message back in the queue.
    assert _ready_count(amqp_app.conf.task_default_queue) == 0
    assert int(client.get(counter)) == 400
    client.delete(counter)


def _fetch_all(channel, queue: str, n: int) -> list:
    messages = [channel.basic_get(queue, no_ack=False) for _ in range(n)]
    assert all(messages)
    return messages


def test_acks_of_a_turn_are_written_on_flush(filled_queue: str):
    hub = Hub()
    with consumer_connection() as conn:
        channel = conn.connection.channel()
        batched = channel.batch_acks(hub)
        assert batched is not None
        for message in _fetch_all(channel, filled_queue, 5):
            channel.basic_ack(message.delivery_tag)
        batched.flush()
        channel.close()
    assert _ready_count(filled_queue) == 0


def test_unflushed_acks_leave_messages_unacked(filled_queue: str):
    hub = Hub()
    with consumer_connection() as conn:
        channel = conn.connection.channel()
        channel.batch_acks(hub)
        for message in _fetch_all(channel, filled_queue, 5):
            channel.basic_ack(message.delivery_tag)
        channel.close()   # nothing flushed: the broker requeues all five
    assert wait_for(lambda: _ready_count(filled_queue) == 5, timeout=5)


def test_acks_from_another_thread_are_written_at_once(filled_queue: str):
    hub = Hub()
    with consumer_connection() as conn:
        channel = conn.connection.channel()
        channel.batch_acks(hub)
        messages = _fetch_all(channel, filled_queue, 5)
        channel.basic_ack(messages[0].delivery_tag)   # buffered in this thread

        def ack_rest() -> None:
            for message in messages[1:]:
                channel.basic_ack(message.delivery_tag)
        thread = threading.Thread(target=ack_rest)
        thread.start()
        thread.join(5)
        channel.close()
    # The other thread's acks flushed the buffered one first.
    assert _ready_count(filled_queue) == 0


def test_the_worker_consumes_through_the_owned_transport(
        amqp_app: Celery, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr('celery.transport.ENABLED', True)   # whatever the environment says
    assert type(amqp_app.connection_for_read().transport) is ConsumerTransport
    amqp_app.conf.broker_transport_options = {'fast_path': False}
    assert type(amqp_app.connection_for_read().transport) is not ConsumerTransport


def _wait_for_all_frames(conn: Connection, n: int) -> None:
    import select
    import socket
    sock = conn.connection.transport.sock

    def arrived() -> bool:
        readable, _, _ = select.select([sock], [], [], 0)
        # n deliveries of three frames, eight bytes of framing each at least.
        return bool(readable) and len(sock.recv(65536, socket.MSG_PEEK)) >= n * 3 * 8
    assert wait_for(arrived, timeout=5)


@contextmanager
def reading_frames(queue: str, on_message: Callable[[Any], None]) -> Iterator[Any]:
    """Consume ``queue`` with a FrameReader; yield it once five deliveries arrived."""
    from kombu import Consumer
    with consumer_connection() as conn:
        conn.ensure_connection()
        hub = Hub()
        reader = FrameReader(conn, hub)
        with Consumer(conn, [Queue(queue)], prefetch_count=10, on_message=on_message):
            _wait_for_all_frames(conn, 5)
            yield reader
        hub.close()


def test_frame_reader_hands_over_every_frame_that_arrived(filled_queue: str):
    received = []
    with reading_frames(filled_queue, lambda message: received.append(message.ack())) as reader:
        reader.on_readable()
        while len(received) < 5 and wait_for(lambda: _readable(reader.sock), timeout=2):
            reader.on_readable()
        assert len(received) == 5
        reader.on_readable()   # nothing more has arrived: returns quietly


def test_frame_reader_keeps_a_partial_frame_for_the_next_read(filled_queue: str):
    received = []
    with reading_frames(filled_queue, lambda message: received.append(message.payload)) as reader:
        # Take the first 10 bytes off the socket as if a read had stopped in
        # the middle of the first frame.
        reader.transport._read_buffer = reader.sock.recv(10)
        reader.on_readable()
        # Under load the last deliveries may still be on their way.
        while len(received) < 5 and wait_for(lambda: _readable(reader.sock), timeout=2):
            reader.on_readable()
        assert received == [{'n': i} for i in range(5)]


def test_frame_reader_lets_handlers_wait_for_replies_mid_batch(filled_queue: str):
    received = []

    def on_message(message) -> None:
        # A synchronous method reads its reply from the same socket while
        # later deliveries of the batch have not been handed over yet.
        message.channel.basic_qos(0, 10 + len(received), False)
        received.append(message.payload)
        message.ack()
    with reading_frames(filled_queue, on_message) as reader:
        reader.on_readable()
        while len(received) < 5 and wait_for(lambda: _readable(reader.sock), timeout=2):
            reader.on_readable()
        # Deliveries read while waiting are handled inside the wait (as
        # py-amqp does): the order is nested, but none is lost or repeated.
        assert sorted(m['n'] for m in received) == [0, 1, 2, 3, 4]
    assert _ready_count(filled_queue) == 0


def _readable(sock: Any) -> bool:
    import select
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def test_frame_reader_reports_a_closed_connection():
    import socket
    with consumer_connection() as conn:
        conn.ensure_connection()
        hub = Hub()
        reader = FrameReader(conn, hub)
        transport = conn.connection.transport
        # The broker end going away looks like an orderly EOF on the socket.
        transport.sock.shutdown(socket.SHUT_RD)
        with pytest.raises(ConnectionError):
            reader.on_readable()
        assert not transport.connected
        hub.close()


def test_tls_connections_read_the_stock_way():
    from amqp.transport import SSLTransport
    conn = ConsumerTransport.Connection(host='127.0.0.1:5672')
    transport = conn.Transport('127.0.0.1:5671', 1, ssl=True)
    assert type(transport) is SSLTransport


def test_acks_after_close_are_written_at_once(filled_queue: str):
    hub = Hub()
    with consumer_connection() as conn:
        channel = conn.connection.channel()
        batched = channel.batch_acks(hub)
        messages = _fetch_all(channel, filled_queue, 5)
        channel.basic_ack(messages[0].delivery_tag)
        batched.close()   # writes the first; the loop is gone
        for message in messages[1:]:
            channel.basic_ack(message.delivery_tag)
        channel.close()
    assert _ready_count(filled_queue) == 0


def test_warm_stop_acks_tasks_finishing_during_shutdown(amqp_app: Celery, unique: str):
    counter = f'acks.slow.{unique}'
    client = redis.Redis.from_url(REDIS_URL)

    @amqp_app.task(name='acks.slow', ignore_result=True, acks_late=True)
    def slow() -> None:
        import time
        time.sleep(0.3)
        redis.Redis.from_url(REDIS_URL).incr(counter)

    with amqp_app.producer_or_acquire() as producer:
        for _ in range(20):
            slow.apply_async(producer=producer)
    worker = RunningWorker(amqp_app).start()
    try:
        assert wait_for(lambda: int(client.get(counter) or 0) >= 2, timeout=30)
    finally:
        worker.stop()
    done = int(client.get(counter) or 0)
    client.delete(counter)
    # Every task that ran was acked (not requeued); every other one is back.
    assert _ready_count(amqp_app.conf.task_default_queue) == 20 - done
    # ...and the stopped worker no longer lists them: a later worker in this
    # process must not count them against its fair-dispatch limit.
    from celery.worker import state
    assert not [r for r in state.requests.values() if r.name == 'acks.slow']

"""The AMQP consumer writes a turn's acks together and reads ahead without losing messages."""
from __future__ import annotations

import threading

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue
from kombu.asynchronous import Hub

from celery import Celery
from celery.worker.consumer.amqp_acks import install as batch_acks
from t.integration.worker.conftest import RunningWorker, wait_for

AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672//'
REDIS_URL = 'redis://127.0.0.1:6379/0'


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
    with Connection(AMQP_URL) as conn:
        channel = conn.connection.channel()
        batched = batch_acks(channel, hub)
        assert batched is not None
        for message in _fetch_all(channel, filled_queue, 5):
            channel.basic_ack(message.delivery_tag)
        batched.flush()
        channel.close()
    assert _ready_count(filled_queue) == 0


def test_unflushed_acks_leave_messages_unacked(filled_queue: str):
    hub = Hub()
    with Connection(AMQP_URL) as conn:
        channel = conn.connection.channel()
        batch_acks(channel, hub)
        for message in _fetch_all(channel, filled_queue, 5):
            channel.basic_ack(message.delivery_tag)
        channel.close()   # nothing flushed: the broker requeues all five
    assert wait_for(lambda: _ready_count(filled_queue) == 5, timeout=5)


def test_acks_from_another_thread_are_written_at_once(filled_queue: str):
    hub = Hub()
    with Connection(AMQP_URL) as conn:
        channel = conn.connection.channel()
        batch_acks(channel, hub)
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


def test_non_amqp_channel_is_left_alone():
    hub = Hub()
    with Connection('memory://') as conn:
        assert batch_acks(conn.default_channel, hub) is None


def test_read_ahead_delivers_frames_left_in_the_buffer(filled_queue: str):
    from celery.worker.consumer.amqp_readahead import install as read_ahead
    from kombu import Consumer
    hub = Hub()
    received = []
    with Connection(AMQP_URL) as conn:
        conn.ensure_connection()
        assert read_ahead(conn, hub) is not None
        with Consumer(conn, [Queue(filled_queue)], prefetch_count=10,
                      on_message=lambda message: received.append(message.ack())):
            assert wait_for(lambda: _socket_has_data(conn), timeout=5)
            # One non-blocking read takes every frame that arrived, handles one.
            conn.connection.blocking_read(timeout=0)
            assert len(conn.connection.transport._read_buffer) >= 7
            conn.transport.register_with_event_loop(conn.connection, hub)
            loop = hub.create_loop()
            # The poller never wakes for buffered frames: one turn must take them all.
            next(loop)
            assert len(received) == 5
        hub.close()   # runs the reader it still holds: while connected


def _socket_has_data(conn: Connection) -> bool:
    import select
    sock = conn.connection.transport.sock
    readable, _, _ = select.select([sock], [], [], 0)
    # Wait until all five deliveries (three frames each) have arrived.
    return bool(readable) and len(sock.recv(65536, __import__('socket').MSG_PEEK)) >= 5 * 3 * 8


def test_acks_after_close_are_written_at_once(filled_queue: str):
    hub = Hub()
    with Connection(AMQP_URL) as conn:
        channel = conn.connection.channel()
        batched = batch_acks(channel, hub)
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

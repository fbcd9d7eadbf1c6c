"""With publisher confirms, a batch (groups, ``pipelined()``) waits once for all its acks.

RabbitMQ only: ``broker_transport_options={'confirm_publish': True}`` on the
owned py-amqp transport (celery.transport.pyamqp.ConfirmPublishBatch).
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from amqp.exceptions import ChannelError, MessageNacked
from amqp.transport import TCPTransport
from kombu import Connection, Exchange, Producer, Queue

from celery import Celery, group, transport
from celery.app.bulk import pipelined
from celery.transport import pyamqp
from t.integration.messages.conftest import RawReader, take
from t.integration.proxy import TcpProxy
from t.servers import AMQP_URL, server_port, via_local_port

pytestmark = pytest.mark.skipif(not transport.ENABLED,
                                reason='stock transports confirm one message at a time')

CONFIRMS = {'confirm_publish': True}


class TurnCountingTransport(TCPTransport):
    """py-amqp's socket, counting the round trips: reads that follow a write."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.round_trips = 0
        self.wrote = False

    def write(self, s: bytes) -> None:
        self.wrote = True
        super().write(s)

    def read_frame(self, *args: object) -> object:
        if self.wrote:
            self.round_trips += 1
            self.wrote = False
        return super().read_frame(*args)


class CountingConnection(pyamqp.Connection):
    """The owned connection on a :class:`TurnCountingTransport`."""

    def Transport(self, host: str, connect_timeout: float | None,  # noqa: N802 (py-amqp's)
                  ssl: object = False, read_timeout: float | None = None,
                  write_timeout: float | None = None, socket_settings: object = None,
                  **kwargs: object) -> TurnCountingTransport:
        assert not ssl
        return TurnCountingTransport(
            host, connect_timeout=connect_timeout, read_timeout=read_timeout,
            write_timeout=write_timeout, socket_settings=socket_settings, **kwargs)


class CountingTransport(pyamqp.Transport):
    """The owned py-amqp transport, counting round trips."""

    Connection = CountingConnection


@pytest.fixture
def confirm_app(unique: str) -> Iterator[Celery]:
    """An app on RabbitMQ with publisher confirms, its default queue declared."""
    app = Celery(f'confirms-{unique}', set_as_current=False, broker=AMQP_URL)
    app.conf.task_default_queue = f'confirms-{unique}'
    app.conf.broker_transport_options = CONFIRMS
    app.conf.broker_pool_limit = 1
    yield app
    app.close()


@pytest.fixture
def add(confirm_app: Celery):
    @confirm_app.task(name='proj.add', shared=False, ignore_result=True)
    def add(x: int, y: int) -> int:
        return x + y
    return add


@pytest.fixture
def reader(unique: str) -> Iterator[RawReader]:
    """Reads raw messages; declares the app's default queue first."""
    reader = RawReader(AMQP_URL)
    name = f'confirms-{unique}'
    reader.declare(Queue(name, Exchange(name), name))
    yield reader
    reader.close()


def full_queue_named(name: str) -> Queue:
    """A queue holding one message at most; RabbitMQ nacks publishes beyond it."""
    return Queue(name, Exchange(name), name, queue_arguments={
        'x-max-length': 1, 'x-overflow': 'reject-publish'})


@pytest.fixture
def full_queue(reader: RawReader, unique: str) -> str:
    """The name of a :func:`full_queue_named` queue, declared."""
    name = f'confirms-full-{unique}'
    reader.declare(full_queue_named(name))
    return name


def ready_count(reader: RawReader, queue: str) -> int:
    return reader.connection.default_channel.queue_declare(queue, passive=True).message_count


def wait_for_count(reader: RawReader, queue: str, count: int, timeout: float = 10) -> int:
    """The queue's message count once it reaches ``count`` (or when ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    while (ready := ready_count(reader, queue)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return ready


def test_group_is_confirmed_in_a_few_round_trips(confirm_app, add, reader, unique):
    queue = f'confirms-{unique}'
    with Connection(AMQP_URL, transport=CountingTransport,
                    transport_options=CONFIRMS) as conn:
        producer = conn.Producer()
        add.apply_async((0, 0), producer=producer)   # connects and enters confirm mode
        channel = conn.default_channel
        assert isinstance(channel, pyamqp.ConfirmChannel)
        socket = conn.connection.transport
        before, published = socket.round_trips, channel.published
        for i in range(100):
            add.apply_async((i, 1), producer=producer)
        one_by_one = socket.round_trips - before
        before = socket.round_trips
        group(add.s(i, 1) for i in range(1000)).apply_async(producer=producer)
        batched = socket.round_trips - before
        # Every publish was confirmed: the channel's count is the broker's numbering.
        assert channel.published == published + 1100
    assert one_by_one == 100   # a round trip per message
    assert batched <= 2, batched   # one write, one wait for the acks of all 1,000
    assert ready_count(reader, queue) == 1101


def _median_seconds(run: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_group_with_confirms_is_far_faster_than_delay_with_confirms(confirm_app, add, reader,
                                                                     unique):
    add.delay(0, 0)   # connect outside the timings
    delays = _median_seconds(lambda: [add.delay(i, 1) for i in range(1000)])
    grouped = _median_seconds(lambda: group(add.s(i, 1) for i in range(1000)).apply_async())
    # Measured ~8x on a quiet machine (t/benchmarks/bench_confirms.py).
    assert grouped < delays / 3, (grouped, delays)
    assert wait_for_count(reader, f'confirms-{unique}', 6001) == 6001


def test_batched_messages_are_the_unbatched_ones(confirm_app, add, reader, unique):
    queue = f'confirms-{unique}'
    add.apply_async((2, 3), task_id='same-id')
    with confirm_app.producer_or_acquire() as producer, pipelined(producer):
        add.apply_async((2, 3), task_id='same-id', producer=producer)
    single, batched = take(reader, queue, 2)
    assert batched.body == single.body
    assert batched.content_type == single.content_type
    assert batched.content_encoding == single.content_encoding
    assert batched.headers == single.headers
    drop = {'delivery_tag'}
    assert ({k: v for k, v in batched.properties.items() if k not in drop}
            == {k: v for k, v in single.properties.items() if k not in drop})
    assert batched.delivery_info['routing_key'] == single.delivery_info['routing_key']


def test_a_nack_raises_messagenacked_when_the_batch_ends(confirm_app, add, reader,
                                                        full_queue, unique):
    # The queue as declared (the app declares it again, the same way).
    to_full = {'queue': full_queue_named(full_queue)}
    add.apply_async((0, 1), **to_full)   # fills it
    with pytest.raises(MessageNacked):   # py-amqp's error one by one (unless retried)
        add.apply_async((1, 1), retry=False, **to_full)
    with pytest.raises(MessageNacked, match='nacked 3 published message'):
        with confirm_app.producer_or_acquire() as producer, pipelined(producer):
            for i in range(3):
                add.apply_async((i, 1), producer=producer, **to_full)
    with pytest.raises(MessageNacked):
        group(add.s(i, 1).set(**to_full) for i in range(5)).apply_async()
    assert ready_count(reader, full_queue) == 1
    # The pooled producer's channel carries on, its count right.
    group(add.s(i, 1) for i in range(10)).apply_async()
    assert wait_for_count(reader, f'confirms-{unique}', 10) == 10


def test_a_nack_among_acks_names_only_the_nacked(reader, full_queue, unique):
    other = f'confirms-{unique}'
    with Connection(AMQP_URL, transport_options=CONFIRMS,
                    transport=pyamqp.Transport) as conn:
        producer = conn.Producer()
        with pytest.raises(MessageNacked, match='nacked 1 published message'):
            with producer.batch():
                producer.publish({'n': 0}, routing_key=other)
                producer.publish({'n': 1}, routing_key=full_queue)
                producer.publish({'n': 2}, routing_key=full_queue)   # the one over the limit
                producer.publish({'n': 3}, routing_key=other)
    assert ready_count(reader, other) == 2 and ready_count(reader, full_queue) == 1


def test_full_batches_wait_for_their_confirms_as_they_go(reader, unique):
    queue = f'confirms-{unique}'
    seen = {}
    with Connection(AMQP_URL, transport=pyamqp.Transport, transport_options=CONFIRMS) as conn:
        producer = conn.Producer()
        with producer.batch(max_size=10):
            for i in range(25):
                producer.publish({'n': i}, routing_key=queue)
                if i in (4, 9, 19, 24):
                    seen[i] = ready_count(reader, queue)
        assert conn.default_channel.published == 25
    # Kept until the batch filled up; then written and confirmed (so queued).
    assert seen == {4: 0, 9: 10, 19: 20, 24: 20}
    assert ready_count(reader, queue) == 25


def test_discarded_messages_are_not_waited_for(reader, unique):
    queue = f'confirms-{unique}'
    with Connection(AMQP_URL, transport=pyamqp.Transport, transport_options=CONFIRMS) as conn:
        producer = conn.Producer()
        with pytest.raises(KeyError):
            with producer.batch():
                for i in range(3):
                    producer.publish({'n': i}, routing_key=queue)
                raise KeyError('stop')
        # Never written, so never numbered by the broker: the next batch
        # waits for its own two tags only (a wrong count would time out).
        with producer.batch():
            for i in range(2):
                producer.publish({'n': i}, routing_key=queue, confirm_timeout=5)
        assert conn.default_channel.published == 2
    assert ready_count(reader, queue) == 2


def _outcome(publish: Callable[[], object]) -> type[BaseException] | None:
    try:
        publish()
    except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
        return type(exc)
    return None


def test_a_returned_message_raises_as_one_by_one(unique):
    nowhere = f'nowhere-{unique}'
    with Connection(AMQP_URL, transport=pyamqp.Transport, transport_options=CONFIRMS) as conn:
        producer = conn.Producer()

        def batch() -> None:
            with producer.batch():
                producer.publish({'n': 1}, routing_key=nowhere, mandatory=True)
        single = _outcome(lambda: producer.publish({'n': 1}, routing_key=nowhere,
                                                   mandatory=True))
        assert single is ChannelError and _outcome(batch) is single
        returned: list[tuple] = []
        handled = Producer(conn.default_channel, on_return=lambda *args: returned.append(args))
        with handled.batch():
            handled.publish({'n': 2}, routing_key=nowhere, mandatory=True)
        assert len(returned) == 1 and returned[0][2] == nowhere   # exchange '', routing key


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(server_port(AMQP_URL, 5672))
    proxy.up()
    yield proxy
    proxy.down()


def _proxied_producer(proxy: TcpProxy) -> tuple[Connection, Producer]:
    conn = Connection(via_local_port(AMQP_URL, proxy.port), transport=pyamqp.Transport,
                      transport_options=CONFIRMS)
    producer = conn.Producer()
    producer.publish({'n': 0}, routing_key='')   # connected, in confirm mode
    return conn, producer


def test_confirm_timeout_bounds_the_wait(proxy, reader, unique):
    queue = f'confirms-{unique}'
    conn, producer = _proxied_producer(proxy)
    with conn:
        def batch() -> None:
            with producer.batch():
                producer.publish({'n': 1}, routing_key=queue, confirm_timeout=0.5)
                producer.publish({'n': 2}, routing_key=queue)
        proxy.hold_replies()
        single = _outcome(lambda: producer.publish({'n': 1}, routing_key=queue,
                                                   confirm_timeout=0.5))
        start = time.monotonic()
        batched = _outcome(batch)
        waited = time.monotonic() - start
        proxy.release_replies()
        assert single is batched and issubclass(batched, TimeoutError)
        assert 0.4 < waited < 3
        # The late acks change nothing for the next batch.
        with producer.batch():
            producer.publish({'n': 3}, routing_key=queue, confirm_timeout=5)
    assert wait_for_count(reader, queue, 4) == 4


@pytest.mark.parametrize('batched', [False, True])
def test_connection_lost_while_waiting_raises_as_one_by_one(proxy, batched):
    conn, producer = _proxied_producer(proxy)
    with conn:
        def publish() -> None:
            if batched:
                with producer.batch():
                    producer.publish({'n': 1}, routing_key='')
            else:
                producer.publish({'n': 1}, routing_key='')
        proxy.hold_replies()
        cut = threading.Timer(0.3, proxy.down)
        cut.start()
        outcome = _outcome(publish)
        cut.join()
        assert outcome is not None and issubclass(outcome, conn.connection_errors)
        # py-amqp's error for a socket closed under it, whichever path waited.
        assert outcome is OSError

"""celery.transport.redis: kombu's Redis transport, wire-compatible, with atomic fetches.

Every test uses the real Redis server and its own unacked hash/index names
(transport options), so sweeps of one test never touch another's messages.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.asynchronous import Hub

from celery import Celery
from celery.transport import redis as owned_redis, transport_for
from celery.transport.redis_fetch import Fetcher


def test_redis_urls_get_the_owned_transport(monkeypatch):
    monkeypatch.setattr('celery.transport.ENABLED', True)
    assert transport_for('redis://localhost:6379/3') is owned_redis.Transport
    assert transport_for('rediss://localhost:6380/3') is owned_redis.Transport
    assert transport_for('redis://a;redis://b') is None
    assert transport_for('redis://a', transport='memory') is None


def test_worker_connections_consume_through_the_owned_transport(redis_url, monkeypatch):
    monkeypatch.setattr('celery.transport.ENABLED', True)
    app = Celery('reading', broker=redis_url, set_as_current=False)
    try:
        with app.connection_for_read() as connection:
            assert type(connection.transport) is owned_redis.Transport
            assert connection.info()['transport'] == 'redis'   # as with stock kombu
        app.conf.broker_transport_options = {'fast_path': False}
        with app.connection_for_read() as connection:
            assert not isinstance(connection.transport, owned_redis.Transport)
    finally:
        app.close()


def test_stock_switch_leaves_redis_to_kombu(monkeypatch):
    monkeypatch.setattr('celery.transport.ENABLED', False)
    assert transport_for('redis://localhost:6379/3') is None


def test_channel_reuses_one_client_for_its_commands(redis_url):
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.default_channel
        assert isinstance(channel, owned_redis.Channel)
        client = channel.client_for_flush()
        assert channel.client_for_flush() is client
        with channel.conn_or_acquire() as acquired:
            assert acquired is client
        assert connection.channel().client_for_flush() is not client


def test_app_publishes_through_the_owned_channel(redis_url, unique, monkeypatch):
    monkeypatch.setattr('celery.transport.ENABLED', True)
    app = Celery(unique, broker=redis_url, set_as_current=False)
    app.conf.task_default_queue = unique

    @app.task(name=f'{unique}.add', shared=False, ignore_result=True)
    def add(x: int, y: int) -> int:
        return x + y

    try:
        add.delay(1, 2)
        add.delay(3, 4)
        with app.producer_or_acquire() as producer:
            assert isinstance(producer.channel, owned_redis.Channel)
        with Connection(redis_url) as connection:
            queue = Queue(unique, Exchange(unique), unique)(connection.default_channel)
            bodies = []
            while (message := queue.get(no_ack=True)) is not None:
                bodies.append(message.decode()[0])
            assert bodies == [[1, 2], [3, 4]]
            queue.delete()
    finally:
        app.close()


# -- consuming in an event loop ---------------------------------------------------------


@pytest.fixture
def options(unique: str) -> dict[str, Any]:
    """Transport options naming this test's own unacked hash, index and mutex."""
    return {'unacked_key': f'unacked.{unique}', 'unacked_index_key': f'unacked_index.{unique}',
            'unacked_mutex_key': f'unacked_mutex.{unique}', 'visibility_timeout': 2}


@pytest.fixture
def client(redis_url: str, unique: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    for key in client.scan_iter(f'*{unique}*'):
        client.delete(key)


@pytest.fixture
def queue(unique: str) -> Queue:
    return Queue(f'q.{unique}', Exchange(f'x.{unique}'), f'q.{unique}')


def publish(url: str, queue: Queue, bodies: list[Any], **options: Any) -> None:
    """Publish ``bodies`` with stock kombu, the way a Celery 5.7 client does."""
    with Connection(url) as connection:
        producer = Producer(connection.default_channel)
        for body in bodies:
            producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key,
                             declare=[queue], serializer='json', **options)


class LoopConsumer:
    """A consumer on the owned transport, driven by a real kombu event loop."""

    def __init__(self, url: str, queue: Queue, options: dict[str, Any],
                 prefetch_count: int = 10, ack: bool = True) -> None:
        self.received: list[Any] = []
        self.messages: list[Any] = []
        self.ack = ack
        self.connection = Connection(url, transport=owned_redis.Transport,
                                     transport_options=options)
        self.channel = self.connection.channel()
        self.consumer = Consumer(self.channel, [queue], callbacks=[self.on_message],
                                 prefetch_count=prefetch_count)
        self.consumer.consume()
        self.hub = Hub()
        self.connection.register_with_event_loop(self.hub)

    def on_message(self, body: Any, message: Any) -> None:
        self.received.append(body)
        self.messages.append(message)
        if self.ack:
            message.ack()

    def run_until(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.hub.run_once()
        return bool(predicate())

    def close(self, restore: bool = True) -> None:
        """Close; without ``restore`` held messages stay unacked, as if the process died."""
        self.channel.qos.restore_at_shutdown = restore
        self.hub.close()
        self.connection.close()


def unacked(client: redis.Redis, options: dict[str, Any]) -> dict[str, Any]:
    """This test's unacked hash, decoded: delivery tag -> [message, exchange, routing key]."""
    return {tag.decode(): json.loads(value)
            for tag, value in client.hgetall(options['unacked_key']).items()}


def test_event_loop_consumer_fetches_through_the_script(redis_url, queue, options, client):
    publish(redis_url, queue, list(range(25)))
    consumer = LoopConsumer(redis_url, queue, options)
    try:
        assert consumer.run_until(lambda: len(consumer.received) == 25)
        assert isinstance(consumer.channel.fetcher, Fetcher)
        assert consumer.received == list(range(25))   # FIFO, as with BRPOP
        assert consumer.run_until(lambda: not client.hlen(options['unacked_key']))
        assert not client.zcard(options['unacked_index_key'])
        # An empty queue is watched, not polled: a new message comes at once.
        publish(redis_url, queue, ['late'])
        assert consumer.run_until(lambda: 'late' in consumer.received, timeout=2)
    finally:
        consumer.close()


def test_fetched_messages_are_registered_exactly_as_kombu_registers_them(
        redis_url, queue, options, client):
    publish(redis_url, queue, ['a', 'b'], priority=0)
    published = [json.loads(item) for item in client.lrange(queue.name, 0, -1)]
    ours = LoopConsumer(redis_url, queue, options, ack=False)
    try:
        assert ours.run_until(lambda: len(ours.received) == 2)
        # kombu's layout: tag -> [the message as queued, exchange, routing key].
        assert unacked(client, options) == {
            envelope['properties']['delivery_tag']: [envelope, queue.exchange.name,
                                                     queue.routing_key]
            for envelope in published}
        assert client.zcard(options['unacked_index_key']) == 2
    finally:
        ours.close(restore=False)


def test_stock_kombu_restores_what_the_owned_consumer_held(redis_url, queue, options, client):
    publish(redis_url, queue, ['held'])
    ours = LoopConsumer(redis_url, queue, options, ack=False)
    assert ours.run_until(lambda: ours.received == ['held'])
    ours.close(restore=False)   # died holding it
    client.zadd(options['unacked_index_key'],
                {tag: 0 for tag in client.hkeys(options['unacked_key'])})
    with Connection(redis_url, transport_options=options) as stock:
        channel = stock.channel()
        queue(channel).declare()
        channel.qos.restore_visible(num=10, interval=1)
        message = queue(channel).get(no_ack=True)
    assert message is not None and message.payload == 'held'
    assert message.delivery_info['redelivered'] is True
    assert not unacked(client, options)


def test_owned_sweep_restores_what_a_stock_consumer_held(redis_url, queue, options, client):
    publish(redis_url, queue, ['left behind', 'kept'])
    with Connection(redis_url, transport_options=options) as stock:
        channel = stock.channel()
        left = queue(channel).get()
        kept = queue(channel).get()
        assert (left.payload, kept.payload) == ('left behind', 'kept')
        client.zadd(options['unacked_index_key'], {left.delivery_tag: 0})
        with Connection(redis_url, transport=owned_redis.Transport,
                        transport_options=options) as ours:
            assert ours.channel().qos.restore_expired() == 1
        assert set(unacked(client, options)) == {kept.delivery_tag}
        kept.ack()
        channel.qos.restore_at_shutdown = False
    with Connection(redis_url) as stock:
        again = queue(stock.channel()).get(no_ack=True)
    assert again.payload == 'left behind' and again.delivery_info['redelivered'] is True


def test_held_messages_stay_fresh_and_are_not_restored(redis_url, queue, options, client):
    publish(redis_url, queue, ['long task'])
    ours = LoopConsumer(redis_url, queue, options, ack=False)
    try:
        assert ours.run_until(lambda: ours.received == ['long task'])
        (tag,) = client.hkeys(options['unacked_key'])
        client.zadd(options['unacked_index_key'], {tag: 0})   # as if delivered long ago
        qos = ours.channel.qos
        assert qos.refresh_held() == 1
        assert client.zscore(options['unacked_index_key'], tag) > time.time() - 5
        assert qos.restore_expired() == 0
        assert unacked(client, options)
        # Once acked, a refresh does not bring the entry back.
        ours.messages[0].ack()
        ours.channel.fetcher.flush()
        qos.refresh_held()
        assert not client.zcard(options['unacked_index_key'])
    finally:
        ours.close()


def test_stock_and_owned_consumers_share_one_queue(redis_url, queue, options, client):
    total = 400
    publish(redis_url, queue, list(range(total)))
    stock_seen: list[int] = []
    done = threading.Event()

    def stock_consumer() -> None:
        with Connection(redis_url, transport_options=options) as connection:
            def on_message(body: int, message: Any) -> None:
                stock_seen.append(body)
                message.ack()
            with Consumer(connection, [queue], callbacks=[on_message], prefetch_count=5):
                while not done.is_set():
                    try:
                        connection.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

    thread = threading.Thread(target=stock_consumer, daemon=True)
    thread.start()
    ours = LoopConsumer(redis_url, queue, options, prefetch_count=5)
    try:
        assert ours.run_until(lambda: len(ours.received) + len(stock_seen) >= total, 30)
    finally:
        done.set()
        thread.join(10)
        ours.close()
    assert sorted(ours.received + stock_seen) == list(range(total))   # each exactly once
    assert ours.received and stock_seen
    assert not unacked(client, options)


def test_no_ack_consumers_and_prefixed_channels_keep_brpop(redis_url, queue, options):
    publish(redis_url, queue, ['x'])
    with Connection(redis_url, transport=owned_redis.Transport,
                    transport_options=options) as connection:
        channel = connection.channel()
        Consumer(channel, [queue], no_ack=True, prefetch_count=10).consume()
        assert channel.fetcher_for(Hub()) is None
    prefixed = dict(options, global_keyprefix='p:')
    with Connection(redis_url, transport=owned_redis.Transport,
                    transport_options=prefixed) as connection:
        channel = connection.channel()
        Consumer(channel, [queue], prefetch_count=10).consume()
        assert channel.fetcher_for(Hub()) is None


def test_queues_take_turns_as_with_brpop(redis_url, unique, options, client):
    first, second = (Queue(f'q{n}.{unique}', Exchange(f'x{n}.{unique}'), f'q{n}.{unique}')
                     for n in (1, 2))
    publish(redis_url, first, [f'a{i}' for i in range(4)])
    publish(redis_url, second, [f'b{i}' for i in range(4)])
    connection = Connection(redis_url, transport=owned_redis.Transport,
                            transport_options=options)
    received: list[str] = []

    def on_message(body: str, message: Any) -> None:
        received.append(body)
        message.ack()
    Consumer(connection.channel(), [first, second], callbacks=[on_message],
             prefetch_count=1).consume()
    hub = Hub()
    connection.register_with_event_loop(hub)
    try:
        deadline = time.monotonic() + 10
        while len(received) < 8 and time.monotonic() < deadline:
            hub.run_once()
    finally:
        hub.close()
        connection.close()
    # Which queue goes first is the cycle's choice; then they alternate.
    letters = [body[0] for body in received]
    assert sorted(letters) == list('aaaabbbb')
    assert all(one != two for one, two in zip(letters, letters[1:], strict=False))


def test_priority_sub_queues_are_read_in_kombus_order(redis_url, queue, options, client):
    # kombu on Redis: the lowest priority number is taken first.
    publish(redis_url, queue, ['nine'], priority=9)
    publish(redis_url, queue, ['zero'], priority=0)
    assert client.llen(f'{queue.name}\x06\x169') == 1   # kombu's sub-queue key
    ours = LoopConsumer(redis_url, queue, options)
    try:
        assert ours.run_until(lambda: len(ours.received) == 2)
    finally:
        ours.close()
    assert ours.received == ['zero', 'nine']


def test_many_idle_queues_are_all_watched(redis_url, unique, options, client):
    queues = [Queue(f'q{n}.{unique}', Exchange(f'x{n}.{unique}'), f'q{n}.{unique}')
              for n in range(4)]   # 16 keys with kombu's 4 priority steps
    connection = Connection(redis_url, transport=owned_redis.Transport,
                            transport_options=options)
    received: list[str] = []
    channel = connection.channel()
    Consumer(channel, queues, callbacks=[lambda body, m: (received.append(body), m.ack())],
             prefetch_count=4).consume()
    hub = Hub()
    connection.register_with_event_loop(hub)
    try:
        for _ in range(3):
            hub.run_once()
        assert not received
        publish(redis_url, queues[-1], ['last'], priority=9)
        deadline = time.monotonic() + 3
        while not received and time.monotonic() < deadline:
            hub.run_once()
    finally:
        hub.close()
        connection.close()
    assert received == ['last']


def test_a_gate_admits_messages_one_at_a_time(redis_url, queue, options, client):
    publish(redis_url, queue, ['a', 'b', 'c'])
    ours = LoopConsumer(redis_url, queue, options, ack=False)
    limit = [1]
    ours.channel.qos.set_gate(lambda: len(ours.received) < limit[0])
    try:
        ours.run_until(lambda: False, timeout=1)
        assert ours.received == ['a']
        assert client.llen(queue.name) == 2   # the rest stays on the broker
        limit[0] = 3
        assert ours.run_until(lambda: len(ours.received) == 3)
    finally:
        ours.close()

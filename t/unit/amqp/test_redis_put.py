"""celery.transport.redis.Channel._put: the same stored message as kombu's, one LPUSH cheaper.

Each test publishes the same message through the owned transport and through
kombu's stock Redis transport, on the real server, and compares what Redis
holds (the random delivery tag aside).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue
from kombu.transport import redis as stock_redis

from celery.transport import redis as owned_redis


@pytest.fixture
def client(redis_url) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def stored(client: redis.Redis, pattern: str) -> dict[bytes, list[str]]:
    """Every list matching ``pattern``, delivery tags blanked, then deleted."""
    found = {}
    for key in client.keys(pattern):
        if client.type(key) == b'list':
            found[key] = [re.sub(r'"delivery_tag": "[^"]*"', '"delivery_tag": ""',
                                 payload.decode()) for payload in client.lrange(key, 0, -1)]
        client.delete(key)
    return found


def publish_both(redis_url: str, queue: Queue, client: redis.Redis, options=None,
                 **publish) -> tuple[dict, dict]:
    """What Redis holds after one publish through each transport."""
    results = []
    for transport in (owned_redis.Transport, stock_redis.Transport):
        with Connection(redis_url, transport=transport,
                        transport_options=options or {}) as connection:
            producer = Producer(connection)
            producer.publish({'n': 1}, exchange=queue.exchange, routing_key=queue.routing_key,
                             declare=[queue], serializer='json', headers={'task': 't'},
                             correlation_id='c-1', **publish)
        prefix = (options or {}).get('global_keyprefix', '')
        results.append(stored(client, f'{prefix}{queue.name}*'))
    return results[0], results[1]


@pytest.mark.parametrize('publish', [{}, {'priority': 5}, {'priority': 9},
                                     {'compression': 'zlib'}, {'expiration': 30}],
                         ids=['plain', 'priority5', 'priority9', 'zlib', 'expiration'])
def test_the_stored_message_is_kombus(redis_url, client, unique, publish):
    queue = Queue(f'put-{unique}', Exchange(f'put-{unique}'), f'put-{unique}')
    ours, stock = publish_both(redis_url, queue, client, **publish)
    assert ours == stock and ours


def test_global_keyprefix_goes_through_kombu(redis_url, client, unique):
    queue = Queue(f'prefixed-{unique}', Exchange(f'prefixed-{unique}'), f'prefixed-{unique}')
    ours, stock = publish_both(redis_url, queue, client, {'global_keyprefix': 'pfx:'})
    assert ours == stock and list(ours) == [f'pfx:prefixed-{unique}'.encode()]


def test_an_expiring_queue_goes_through_kombu(redis_url, client, unique):
    queue = Queue(f'expiring-{unique}', Exchange(f'expiring-{unique}'), f'expiring-{unique}',
                  expires=60)
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        Producer(connection).publish({'n': 1}, exchange=queue.exchange,
                                     routing_key=queue.routing_key, declare=[queue])
    assert 0 < client.pttl(f'expiring-{unique}') <= 60_000
    stored(client, f'expiring-{unique}*')


def test_an_error_reply_is_raised(redis_url, client, unique):
    key = f'not-a-list-{unique}'
    client.set(key, 'x')
    try:
        with Connection(redis_url, transport=owned_redis.Transport) as connection:
            channel = connection.default_channel
            with pytest.raises(redis.ResponseError):
                channel._put(key, {'body': 'x', 'properties': {}})
            # The connection taken for the failed push is usable again.
            client.delete(key)
            channel._put(key, {'body': 'y', 'properties': {}})
        assert client.llen(key) == 1
    finally:
        client.delete(key)


def test_a_connection_the_server_dropped_does_not_lose_the_push(redis_url, client, unique):
    key = f'lost-{unique}'
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.default_channel
        channel._put(key, {'body': 'first', 'properties': {}})
        # The server drops the pooled connection the next push will take.
        held = channel.pool.get_connection()
        held.send_command('CLIENT', 'ID')
        connection_id = held.read_response()
        channel.pool.release(held)
        client.execute_command('CLIENT', 'KILL', 'ID', connection_id)
        channel._put(key, {'body': 'second', 'properties': {}})
    assert client.llen(key) == 2
    client.delete(key)

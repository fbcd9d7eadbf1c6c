"""celery.transport.redis.Channel._put: the same stored message as kombu's, one LPUSH cheaper.

The first tests publish the same message through the owned transport and
through kombu's stock Redis transport, on the real server, and compare what
Redis holds (the random delivery tag aside).  The others check the
publishing connection the channel keeps checked out: reused, given back on
close, replaced when the server drops it or in a forked child.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue
from kombu.transport import redis as stock_redis

from celery.transport import redis as owned_redis
from celery.transport.redis_publish import Publisher, pack_lpush


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
            arguments = {'exchange': queue.exchange, 'routing_key': queue.routing_key,
                         'declare': [queue], 'serializer': 'json', 'headers': {'task': 't'},
                         'correlation_id': 'c-1'}
            producer.publish({'n': 1}, **dict(arguments, **publish))
        prefix = (options or {}).get('global_keyprefix', '')
        results.append(stored(client, f'{prefix}{queue.name}*'))
    return results[0], results[1]


@pytest.mark.parametrize('publish', [{}, {'priority': 5}, {'priority': 9},
                                     {'compression': 'zlib'}, {'expiration': 30},
                                     {'serializer': 'pickle'}, {'priority': 0},
                                     {'exchange': ''}, {'headers': {'é': 'ü\u2028', 'x': 1.5}}],
                         ids=['plain', 'priority5', 'priority9', 'zlib', 'expiration',
                              'pickle', 'priority0', 'anon_exchange', 'unicode_headers'])
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


def client_id(connection) -> int:
    """The server's id of a redis-py connection."""
    connection.send_command('CLIENT', 'ID')
    return int(connection.read_response())


def held(channel):
    """The connection the channel publishes on."""
    publisher = channel._publisher
    assert publisher is not None and publisher.connection is not None
    return publisher.connection


def bodies(client: redis.Redis, key: str) -> list[str]:
    """The bodies of the messages pushed on ``key``, oldest first; the key deleted."""
    found = [json.loads(payload)['body'] for payload in reversed(client.lrange(key, 0, -1))]
    client.delete(key)
    return found


def test_the_publishing_connection_is_held_across_publishes(redis_url, client, unique):
    key = f'held-{unique}'
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.default_channel
        channel._put(key, {'body': '0', 'properties': {}})
        first = held(channel)
        first_id = client_id(first)
        for n in range(1, 20):
            channel._put(key, {'body': str(n), 'properties': {}})
        assert held(channel) is first
        assert client_id(first) == first_id
    assert bodies(client, key) == [str(n) for n in range(20)]


def test_closing_the_channel_gives_the_connection_back(redis_url, client, unique):
    key = f'closed-{unique}'
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.channel()
        channel._put(key, {'body': 'x', 'properties': {}})
        connection_id = client_id(held(channel))
        channel.close()
        assert channel._publisher is None
        deadline = time.monotonic() + 5
        while client.client_list(client_id=[connection_id]):
            assert time.monotonic() < deadline, 'the publishing connection is still open'
            time.sleep(0.02)
    client.delete(key)


def test_closing_the_connection_gives_the_connection_back(redis_url, client, unique):
    key = f'conn-closed-{unique}'
    connection = Connection(redis_url, transport=owned_redis.Transport)
    channel = connection.default_channel
    channel._put(key, {'body': 'x', 'properties': {}})
    connection_id = client_id(held(channel))
    connection.close()
    deadline = time.monotonic() + 5
    while client.client_list(client_id=[connection_id]):
        assert time.monotonic() < deadline, 'the publishing connection is still open'
        time.sleep(0.02)
    client.delete(key)


def test_a_connection_the_server_killed_between_publishes_delivers_once(redis_url, client,
                                                                        unique):
    key = f'lost-{unique}'
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.default_channel
        channel._put(key, {'body': 'first', 'properties': {}})
        killed = client_id(held(channel))
        assert client.execute_command('CLIENT', 'KILL', 'ID', killed) == 1
        channel._put(key, {'body': 'second', 'properties': {}})
        # The lost connection was dropped; the next publish holds a new one.
        channel._put(key, {'body': 'third', 'properties': {}})
        assert client_id(held(channel)) != killed
    assert bodies(client, key) == ['first', 'second', 'third']


def test_a_forked_child_publishes_on_its_own_connection(redis_url, client, unique):
    key = f'forked-{unique}'
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.default_channel
        channel._put(key, {'body': 'parent-1', 'properties': {}})
        parent = held(channel)
        parent_id = client_id(parent)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:   # the child: report the id of the connection it published on
            status = 1
            try:
                os.close(read_end)
                channel._put(key, {'body': 'child', 'properties': {}})
                mine = held(channel)
                os.write(write_end, f'{client_id(mine)} {int(mine is parent)}'.encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        with os.fdopen(read_end) as reading:
            report = reading.read()
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, report
        child_id, same_object = (int(part) for part in report.split())
        assert child_id != parent_id and not same_object
        # The parent's connection is untouched: same object, same server session.
        channel._put(key, {'body': 'parent-2', 'properties': {}})
        assert held(channel) is parent and client_id(parent) == parent_id
    assert bodies(client, key) == ['parent-1', 'child', 'parent-2']


def test_a_pool_of_one_connection_is_not_held(redis_url, client, unique):
    key = f'single-{unique}'
    with Connection(redis_url, transport=owned_redis.Transport,
                    transport_options={'max_connections': 1}) as connection:
        channel = connection.default_channel
        channel._put(key, {'body': 'a', 'properties': {}})
        # The channel's other commands get the pool's only connection.
        assert channel.client_for_flush().llen(key) == 1
        channel._put(key, {'body': 'b', 'properties': {}})
    assert bodies(client, key) == ['a', 'b']


def test_a_pool_with_a_credential_provider_is_not_held(redis_url):
    # redis-py re-authenticates a connection when it goes back to the pool.
    pool = redis.ConnectionPool.from_url(
        redis_url, credential_provider=redis.UsernamePasswordCredentialProvider())
    assert not Publisher(pool).hold
    assert Publisher(redis.ConnectionPool.from_url(redis_url)).hold


def test_threads_sharing_a_channel_publish_every_message_intact(redis_url, client, unique):
    key = f'threads-{unique}'
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.default_channel

        def publish(name: str) -> None:
            for n in range(200):
                channel._put(key, {'body': f'{name}-{n}', 'properties': {}})
        threads = [threading.Thread(target=publish, args=(name,)) for name in 'abc']
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    found = bodies(client, key)
    assert sorted(found) == sorted(f'{name}-{n}' for name in 'abc' for n in range(200))
    for name in 'abc':   # each thread's messages in its own order
        assert [b for b in found if b.startswith(name)] == [f'{name}-{n}' for n in range(200)]


# -- the pieces, without a server ---------------------------------------------

@pytest.mark.parametrize('key, payload', [('q', '{"a": 1}'), ('qé\x06\x163', 'x' * 70_000),
                                          ('', ''), ('k', 'ü' * 10)])
def test_pack_lpush_is_redis_pys_packing(key, payload):
    packer = redis.Connection()
    assert b''.join(pack_lpush(key, payload)) == b''.join(packer.pack_command('LPUSH', key,
                                                                                payload))


def test_delivery_tags_are_uuid4_strings(redis_url):
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        tags = {connection.default_channel._next_delivery_tag() for _ in range(1000)}
    assert len(tags) == 1000
    for tag in tags:
        parsed = uuid.UUID(tag)
        assert str(parsed) == tag and parsed.version == 4 and parsed.variant == uuid.RFC_4122

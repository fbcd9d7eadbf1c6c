"""Redis backend fast path: commands on a connection held per process; one write to resubscribe.

- The store (and the stored states ``get()`` reads) go on one connection the
  process keeps; a forked child opens its own and leaves its parent's alone.
- A held connection lost while idle is replaced without a retry being
  logged; one that stays lost is the backend's retry policy's.
- A command cut mid-way drops the connection: no reply is read half.
- The previous result's UNSUBSCRIBE and the next SUBSCRIBE go in one write
  with the bookkeeping redis-py's PubSub keeps for two.
- With the fast path off, everything goes through redis-py's client.
"""
from __future__ import annotations

import signal
import threading

import pytest
import redis
from redis.client import PubSub

from celery.backends.redis_pubsub import ResultPubSub
from celery.exceptions import SoftTimeLimitExceeded
from t.integration.backends.redis_servers import in_child
from t.integration.proxy import TcpProxy
from t.servers import REDIS_BACKEND_URL, server_port, via_local_port


@pytest.fixture
def redis_app(make_app):
    return make_app('redis', url=REDIS_BACKEND_URL, result_expires=60)


def client_id(backend) -> int:
    """The server's id of the backend's held connection."""
    return int(backend.held.call('CLIENT', 'ID'))


def client_ids() -> set[int]:
    with redis.Redis.from_url(REDIS_BACKEND_URL, protocol=2) as admin:
        return {int(c['id']) for c in admin.client_list()}


def kill(client: int) -> None:
    with redis.Redis.from_url(REDIS_BACKEND_URL, protocol=2) as admin:
        admin.client_kill_filter(_id=client)


def test_stores_and_reads_go_on_one_held_connection(redis_app, unique) -> None:
    backend = redis_app.backend
    backend.mark_as_done(f'{unique}-1', 1)
    held = backend.held.connection
    backend.mark_as_done(f'{unique}-2', 2)
    assert redis_app.AsyncResult(f'{unique}-1').get(timeout=5) == 1
    assert backend.get(backend.get_key_for_task(f'{unique}-2')) is not None
    assert backend.held.connection is held
    # Kept checked out: the client's own commands never get it.
    pool = backend.client.connection_pool
    assert pool.get_connection() is not held




def test_a_forked_child_holds_a_connection_of_its_own(redis_app, unique) -> None:
    backend = redis_app.backend
    backend.mark_as_done(f'{unique}-parent', 'parent')
    parent = client_id(backend)

    def child() -> int:
        redis_app.backend.mark_as_done(unique, 'from child')
        return client_id(redis_app.backend)
    assert int(in_child(child)) != parent
    assert redis_app.AsyncResult(unique).get(timeout=5) == 'from child'
    # The parent's connection was neither used nor closed by the child.
    assert client_id(backend) == parent
    backend.mark_as_done(f'{unique}-after', 'after')
    assert client_id(backend) == parent


def test_a_held_connection_killed_while_idle_is_replaced_silently(
        redis_app, unique, caplog) -> None:
    backend = redis_app.backend
    backend.mark_as_done(f'{unique}-before', 1)
    killed = client_id(backend)
    kill(killed)
    backend.mark_as_done(unique, 'stored')
    assert client_id(backend) != killed
    assert killed not in client_ids()
    assert 'Connection to Redis lost' not in caplog.text
    assert redis_app.AsyncResult(unique).get(timeout=5) == 'stored'


def test_a_connection_lost_twice_goes_to_the_retry_policy(make_app, unique, caplog) -> None:
    proxy = TcpProxy(server_port(REDIS_BACKEND_URL, 6379))
    proxy.up()
    try:
        app = make_app('redis', url=via_local_port(REDIS_BACKEND_URL, proxy.port),
                       result_expires=60)
        app.conf.result_backend_transport_options = {
            'global_keyprefix': f'it{unique}_',
            'retry_policy': {'interval_start': 0.2, 'interval_step': 0.2, 'interval_max': 0.2}}
        backend = app.backend
        backend.mark_as_done(f'{unique}-before', 1)
        proxy.down()
        threading.Timer(0.5, proxy.up).start()
        backend.mark_as_done(unique, 'after the outage')
        assert 'Connection to Redis lost' in caplog.text
        assert app.AsyncResult(unique).get(timeout=5) == 'after the outage'
    finally:
        proxy.down()


def test_a_command_cut_midway_drops_the_connection(make_app, unique) -> None:
    # The proxy delays what we send: the store waits for its reply long enough to be cut.
    proxy = TcpProxy(server_port(REDIS_BACKEND_URL, 6379), delay=0.3)
    proxy.up()

    def soft_limit(signum, frame):
        raise SoftTimeLimitExceeded()
    previous = signal.signal(signal.SIGALRM, soft_limit)
    try:
        app = make_app('redis', url=via_local_port(REDIS_BACKEND_URL, proxy.port),
                       result_expires=60)
        backend = app.backend
        backend.mark_as_done(f'{unique}-before', 'before')
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(SoftTimeLimitExceeded):
            backend.mark_as_done(unique, 'cut')
        assert backend.held.connection is None
        # The next command reads its own reply, not the cut one's.
        key = backend.get_key_for_task(f'{unique}-before')
        assert backend.decode(backend.get(key))['result'] == 'before'
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        proxy.down()


def test_resubscribing_in_one_write_keeps_pubsubs_bookkeeping(redis_app, unique) -> None:
    pool = redis_app.backend.client.connection_pool
    ours = ResultPubSub(pool, ignore_subscribe_messages=False)
    stock = PubSub(pool, ignore_subscribe_messages=False)
    try:
        a, b, c = (f'{unique}-{n}'.encode() for n in 'abc')
        for pubsub in (ours, stock):
            pubsub.subscribe(a)
        ours.resubscribe([a], [b])
        stock.unsubscribe(a)
        stock.subscribe(b)
        for pubsub in (ours, stock):
            # a goes once the server's reply to its UNSUBSCRIBE is read.
            assert pubsub.channels == {a: None, b: None}
            assert pubsub.pending_unsubscribe_channels == {a}

        def replies(pubsub) -> list[tuple[str, bytes]]:
            got = []
            while len(got) < 3:
                message = pubsub.get_message(timeout=2)
                assert message is not None
                got.append((message['type'], message['channel']))
            return got
        expected = [('subscribe', a), ('unsubscribe', a), ('subscribe', b)]
        assert replies(ours) == replies(stock) == expected
        for pubsub in (ours, stock):
            assert pubsub.channels == {b: None}
            assert not pubsub.pending_unsubscribe_channels
        # And the one left is live.
        redis_app.backend.client.publish(b, b'x')
        redis_app.backend.client.publish(c, b'not ours')
        for pubsub in (ours, stock):
            message = pubsub.get_message(timeout=2)
            assert (message['type'], message['channel'], message['data']) == ('message', b, b'x')
    finally:
        ours.close()
        stock.close()


def test_with_the_fast_path_off_everything_goes_through_the_client(make_app, unique) -> None:
    app = make_app('redis', url=REDIS_BACKEND_URL, result_expires=60)
    app.conf.result_backend_transport_options = {
        'global_keyprefix': f'it{unique}_', 'fast_path': False}
    backend = app.backend
    assert backend.held is None
    writer = backend.__class__(app=app, url=REDIS_BACKEND_URL)
    for n in range(3):
        threading.Timer(0.05, writer.mark_as_done, (f'{unique}-{n}', n)).start()
        assert app.AsyncResult(f'{unique}-{n}').get(timeout=5) == n
    assert type(backend.result_consumer._pubsub) is PubSub

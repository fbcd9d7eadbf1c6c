"""Redis backend: when get() reads the stored state, and when the channels are let go.

- Redis runs the commands of different connections in the order it pleases:
  a store (or our own GET) may run before a SUBSCRIBE sent earlier.  The
  stored state is read once the server has confirmed the subscription, so a
  result stored in between is not lost.
- A ready result's channel goes with the next command to the server; nothing
  is left once the next result has been waited for, or the consumer stopped.
"""
from __future__ import annotations

import threading

import pytest
import redis
from redis.client import PubSub

from celery.backends.redis_pubsub import ResultPubSub
from t.integration.proxy import TcpProxy
from t.integration.worker.conftest import wait_for
from t.servers import REDIS_BACKEND_URL, server_port, via_local_port

SLOW = 0.3


@pytest.fixture(params=[True, False], ids=['fast-path', 'stock'])
def redis_app(request, make_app, unique):
    return make_app('redis', url=REDIS_BACKEND_URL, result_expires=60,
                    result_backend_transport_options={
                        'global_keyprefix': f'it{unique}_', 'fast_path': request.param})


@pytest.fixture
def slow_pubsub():
    """Route a backend's pub/sub connection through a proxy that delays what it sends."""
    proxies = []

    def _slow(backend, delay: float = SLOW) -> None:
        proxy = TcpProxy(server_port(REDIS_BACKEND_URL, 6379), delay=delay)
        proxy.up()
        proxies.append(proxy)
        client = redis.Redis.from_url(via_local_port(REDIS_BACKEND_URL, proxy.port), protocol=2)
        # The class the backend uses (one write per resubscribe on the fast path).
        pubsub_class = ResultPubSub if backend.fast_path else PubSub
        backend.result_consumer._new_pubsub = lambda: pubsub_class(
            client.connection_pool, ignore_subscribe_messages=False)
    yield _slow
    for proxy in proxies:
        proxy.down()


def numsub(app, task_id: str) -> int:
    channel = app.backend.get_key_for_task(task_id)
    return dict(app.backend.client.pubsub_numsub(channel))[channel]


def waits_once(app, unique: str) -> None:
    """Wait for a result once (the pub/sub connection is up after it)."""
    app.backend.mark_as_done(f'{unique}-first', 'first')
    assert app.AsyncResult(f'{unique}-first').get(timeout=5) == 'first'


def test_a_result_stored_before_the_server_runs_the_subscribe_is_not_lost(
        redis_app, unique, slow_pubsub) -> None:
    backend = redis_app.backend
    slow_pubsub(backend)
    waits_once(redis_app, unique)   # the slow pub/sub connection is up
    writer = backend.__class__(app=redis_app, url=REDIS_BACKEND_URL)
    # Stored (and published to nobody) while our SUBSCRIBE is still on its way.
    threading.Timer(SLOW / 3, writer.mark_as_done, (unique, 'stored meanwhile')).start()
    assert redis_app.AsyncResult(unique).get(timeout=5) == 'stored meanwhile'


def test_group_members_stored_before_the_subscribes_run_are_read_at_once(
        redis_app, unique, slow_pubsub) -> None:
    backend = redis_app.backend
    slow_pubsub(backend)
    waits_once(redis_app, unique)
    ids = [f'{unique}-{i}' for i in range(4)]
    writer = backend.__class__(app=redis_app, url=REDIS_BACKEND_URL)

    def store() -> None:
        for n, task_id in enumerate(ids):
            writer.mark_as_done(task_id, n)
    threading.Timer(SLOW / 3, store).start()
    reads = []
    real_mget = backend.mget
    backend.mget = lambda keys: reads.append(keys) or real_mget(keys)
    group = redis_app.GroupResult(unique, [redis_app.AsyncResult(i) for i in ids])
    assert group.join_native(timeout=5) == [0, 1, 2, 3]
    assert len(reads) == 1 and len(reads[0]) == len(ids)   # read together once confirmed


def test_a_ready_channel_goes_with_the_next_command(redis_app, unique) -> None:
    writer = redis_app.backend.__class__(app=redis_app, url=REDIS_BACKEND_URL)
    for name in ('a', 'b'):
        threading.Timer(0.1, writer.mark_as_done, (f'{unique}-{name}', name)).start()
        assert redis_app.AsyncResult(f'{unique}-{name}').get(timeout=5) == name
    # a's channel went with b's SUBSCRIBE; b's waits for the next command (no
    # write to the server between the result's arrival and get() returning).
    assert wait_for(lambda: numsub(redis_app, f'{unique}-a') == 0, 5.0, 0.01)
    assert numsub(redis_app, f'{unique}-b') == 1
    assert not redis_app.backend.result_consumer.subscribed_to
    redis_app.backend.result_consumer.stop()
    assert wait_for(lambda: numsub(redis_app, f'{unique}-b') == 0, 5.0, 0.01)

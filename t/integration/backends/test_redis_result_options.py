"""Redis backend against the real server: compression, per-state and chord TTLs, subscriptions.

- ``result_compression``: the stored value is the compressed serialized meta,
  nothing else (so it reads as Celery 5.7's and Celery 5.7 reads ours).
- ``result_failure_expires`` / ``result_chord_expires``: the TTLs of failed
  results and of chord keys; group meta keeps ``result_expires``.
- A waiter that gives up leaves no pub/sub subscription on the server.
"""
from __future__ import annotations

import json
import zlib
from types import SimpleNamespace

import pytest

from celery import states
from celery.exceptions import TimeoutError
from t.integration.worker.conftest import wait_for
from t.servers import REDIS_BACKEND_URL

HOUR = 3600


@pytest.fixture
def redis_app(make_app):
    """An app on the suite's Redis results database (keys prefixed per test)."""
    def _make(**conf):
        return make_app('redis', url=REDIS_BACKEND_URL, result_expires=HOUR, **conf)
    return _make


def numsub(client, channel: bytes) -> int:
    return dict(client.pubsub_numsub(channel))[channel]


# -- result_compression ---------------------------------------------------------


def test_compressed_result_is_the_compressed_serialized_meta(redis_app, unique) -> None:
    app = redis_app(result_compression='zlib')
    app.backend.mark_as_done(unique, {'big': 'x' * 1000})
    raw = app.backend.client.get(app.backend.get_key_for_task(unique))
    assert len(raw) < 200  # compressed
    meta = json.loads(zlib.decompress(raw))
    assert meta['status'] == states.SUCCESS and meta['result'] == {'big': 'x' * 1000}
    assert meta['task_id'] == unique
    assert app.AsyncResult(unique).get(timeout=5) == {'big': 'x' * 1000}


def test_reads_a_compressed_result_written_by_another_client(redis_app, unique) -> None:
    app = redis_app(result_compression='zlib')
    meta = {'status': states.FAILURE, 'task_id': unique, 'traceback': 'tb', 'children': [],
            'date_done': '2024-01-01T00:00:00+00:00',
            'result': {'exc_type': 'KeyError', 'exc_message': ['k'], 'exc_module': 'builtins'}}
    app.backend.client.set(app.backend.get_key_for_task(unique),
                           zlib.compress(json.dumps(meta).encode()))
    result = app.AsyncResult(unique)
    with pytest.raises(KeyError):
        result.get(timeout=5)
    assert result.traceback == 'tb'


def test_uncompressed_results_stay_readable_with_compression_on(redis_app, unique) -> None:
    redis_app().backend.mark_as_done(unique, 'plain')
    assert redis_app(result_compression='zlib').AsyncResult(unique).get(timeout=5) == 'plain'


def test_compressed_result_is_pushed_to_a_waiter(redis_app, unique) -> None:
    import threading
    app = redis_app(result_compression='bzip2')
    writer = redis_app(result_compression='bzip2')
    timer = threading.Timer(0.2, writer.backend.mark_as_done, (unique, 'pushed'))
    timer.start()
    try:
        assert app.AsyncResult(unique).get(timeout=5) == 'pushed'
    finally:
        timer.join()


def test_compressed_success_is_not_overwritten(redis_app, unique) -> None:
    app = redis_app(result_compression='zlib')
    app.backend.mark_as_done(unique, 'first')
    app.backend.mark_as_failure(unique, KeyError('late duplicate'))
    app.backend._cache.clear()
    assert app.AsyncResult(unique).get(timeout=5) == 'first'


def test_compressed_group_round_trip(redis_app, unique) -> None:
    app = redis_app(result_compression='zlib')
    group = app.GroupResult(unique, [app.AsyncResult(unique + 'a')])
    group.save()
    raw = app.backend.client.get(app.backend.get_key_for_group(unique))
    assert json.loads(zlib.decompress(raw))['result']
    assert app.GroupResult.restore(unique, backend=app.backend) == group


# -- result_failure_expires / result_chord_expires ------------------------------------


def ttl_of(app, key: bytes) -> int:
    return app.backend.client.ttl(key)


def test_failed_results_expire_after_result_failure_expires(redis_app, unique) -> None:
    app = redis_app(result_failure_expires=60)
    app.backend.mark_as_failure(unique + 'f', KeyError('x'))
    app.backend.mark_as_done(unique + 's', 1)
    assert 0 < ttl_of(app, app.backend.get_key_for_task(unique + 'f')) <= 60
    assert 60 < ttl_of(app, app.backend.get_key_for_task(unique + 's')) <= HOUR


def test_failed_results_default_to_result_expires(redis_app, unique) -> None:
    app = redis_app()
    app.backend.mark_as_failure(unique, KeyError('x'))
    assert HOUR - 60 < ttl_of(app, app.backend.get_key_for_task(unique)) <= HOUR


def test_failure_expires_applies_without_the_script(redis_app, unique) -> None:
    app = redis_app(result_failure_expires=60, result_serializer='pickle',
                    result_accept_content=['pickle'])
    app.backend.mark_as_failure(unique, KeyError('x'))
    assert 0 < ttl_of(app, app.backend.get_key_for_task(unique)) <= 60


def chord_part(gid: str, task_id: str, index: int) -> SimpleNamespace:
    return SimpleNamespace(id=task_id, group=gid, group_index=index, chord=None,
                           chord_size=None)


@pytest.mark.parametrize('chord_expires, expected', [(120, 120), (None, HOUR)])
def test_chord_keys_expire_after_result_chord_expires(redis_app, unique,
                                                      chord_expires, expected) -> None:
    app = redis_app(result_chord_expires=chord_expires)
    backend = app.backend
    backend.set_chord_size(unique, 2)
    backend.on_chord_part_return(chord_part(unique, unique + '0', 0), states.SUCCESS, 1)
    for suffix in ('.j', '.s'):
        assert expected - 60 < ttl_of(app, backend.get_key_for_group(unique, suffix)) <= expected
    app.GroupResult(unique, [app.AsyncResult(unique + '0')]).save()
    assert HOUR - 60 < ttl_of(app, backend.get_key_for_group(unique)) <= HOUR


# -- subscriptions of waiters that give up -------------------------------------------


def test_get_that_times_out_unsubscribes(redis_app, unique) -> None:
    app = redis_app()
    channel = app.backend.get_key_for_task(unique)
    with pytest.raises(TimeoutError):
        app.AsyncResult(unique).get(timeout=0.2)
    assert wait_for(lambda: numsub(app.backend.client, channel) == 0, 5.0, 0.01)


def test_group_join_that_times_out_unsubscribes_every_member(redis_app, unique) -> None:
    app = redis_app()
    ids = [f'{unique}-{i}' for i in range(3)]
    group = app.GroupResult(unique, [app.AsyncResult(i) for i in ids])
    app.backend.mark_as_done(ids[0], 0)
    with pytest.raises(TimeoutError):
        group.get(timeout=0.3)
    prefix = app.backend.get_key_for_task('')
    assert wait_for(lambda: not app.backend.client.pubsub_channels(prefix + b'*'), 5.0, 0.01)
    # Waiting again listens again.
    for i, task_id in enumerate(ids[1:], 1):
        app.backend.mark_as_done(task_id, i)
    assert group.get(timeout=5) == [0, 1, 2]
    assert wait_for(lambda: not app.backend.client.pubsub_channels(prefix + b'*'), 5.0, 0.01)


def test_forget_drops_the_pending_result_and_its_subscription(redis_app, unique) -> None:
    app = redis_app()
    result = app.AsyncResult(unique)
    result.then(lambda r: None)  # now waited on: pending and subscribed
    channel = app.backend.get_key_for_task(unique)
    assert wait_for(lambda: numsub(app.backend.client, channel) == 1, 5.0, 0.01)
    result.forget()
    assert not any(unique in pending for pending in app.backend._pending_results)
    assert wait_for(lambda: numsub(app.backend.client, channel) == 0, 5.0, 0.01)


def test_add_to_a_filled_set_fires_on_ready_again(redis_app, unique) -> None:
    app = redis_app()
    app.backend.mark_as_done(unique + '1', 1)
    results = app.ResultSet([app.AsyncResult(unique + '1')])
    assert results.join(timeout=5) == [1]
    fired = []
    results.add(app.AsyncResult(unique + '2'))
    results.then(lambda rs: fired.append(len(rs)))
    app.backend.mark_as_done(unique + '2', 2)
    assert results.join(timeout=5) == [1, 2]
    assert fired == [2]


def test_expire_without_a_time_to_live_keeps_the_key(redis_app, unique) -> None:
    # With result_expires=None chord counters get no TTL: the key stays
    # (redis-py refuses None, and EXPIRE 0 would delete it).
    backend = redis_app().backend
    key = backend.get_key_for_chord(unique)
    backend.client.set(key, b'1')
    try:
        assert backend.expire(key, None) is False
        assert backend.client.get(key) == b'1' and backend.client.ttl(key) == -1
        assert backend.expire(key, 60) is True
        assert 0 < backend.client.ttl(key) <= 60
    finally:
        backend.client.delete(key)

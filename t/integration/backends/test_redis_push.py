"""Redis specifics: pub/sub push, key layout and expiry, write-once, native chords, outages."""
from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest

from celery import states
from t.conftest import REDIS_URL
from t.integration.backends.redis_servers import (
    free_port,
    in_child,
    needs_redis_server,
    start_redis,
)


@pytest.fixture
def app(make_app):
    return make_app('redis', result_expires=60)


def test_get_is_pushed_not_polled(app, unique) -> None:
    backend = app.backend
    writer = app.backend.__class__(app=app, url=REDIS_URL)
    calls = []
    real_get = backend.client.get
    backend.client.get = lambda *a: calls.append(a) or real_get(*a)
    threading.Timer(0.3, writer.mark_as_done, (unique, 'pushed')).start()
    start = time.monotonic()
    # A huge interval: with polling this would take 10s.
    assert app.AsyncResult(unique).get(timeout=5, interval=10) == 'pushed'
    assert time.monotonic() - start < 2
    assert len(calls) <= 2
    assert not backend.result_consumer.subscribed_to


def test_get_of_a_result_stored_before_waiting_returns_at_once(app, unique) -> None:
    app.backend.mark_as_done(unique, 'early')
    start = time.monotonic()
    assert app.AsyncResult(unique).get(timeout=5) == 'early'
    # The stored value is read before waiting: no drain interval is spent.
    assert time.monotonic() - start < 0.25


def test_key_layout_and_expiry(app, unique) -> None:
    app.backend.mark_as_done(unique, [1, 2])
    key = f'it{unique}_celery-task-meta-{unique}'
    raw = app.backend.client.get(key)
    meta = json.loads(raw)
    assert meta['status'] == 'SUCCESS' and meta['result'] == [1, 2] and meta['task_id'] == unique
    assert 0 < app.backend.client.ttl(key) <= 60
    app.AsyncResult(unique).forget()
    assert app.backend.client.get(key) is None


def test_success_is_not_overwritten(app, unique) -> None:
    app.backend.mark_as_done(unique, 'first')
    app.backend.mark_as_failure(unique, KeyError('duplicate delivery'))
    app.backend.store_result(unique, 'x', states.STARTED)
    assert app.AsyncResult(unique).get(timeout=5) == 'first'


def test_connecting_reads_no_package_metadata(app, unique, monkeypatch) -> None:
    # redis-py looks its version up in the package metadata for CLIENT SETINFO
    # unless told it: costly in every pool child's first connection.
    from importlib import metadata

    def version(name: str) -> str:
        raise AssertionError(f'package metadata read for {name}')
    monkeypatch.setattr(metadata, 'version', version)
    app.backend.mark_as_done(unique, 'stored')
    assert app.AsyncResult(unique).get(timeout=5) == 'stored'


def test_speaks_resp2_unless_the_url_asks_otherwise(make_app) -> None:
    assert make_app('redis').backend.client.client_info()['resp'] == '2'
    app = make_app('redis', url=f'{REDIS_URL}?protocol=3')
    assert app.backend.client.client_info()['resp'] == '3'


def test_pickle_serializer_uses_get_then_set(make_app, unique) -> None:
    app = make_app('redis', result_serializer='pickle', accept_content=['pickle', 'json'])
    app.backend.mark_as_done(unique, {1, 2})
    app.backend.mark_as_failure(unique, KeyError('dup'))
    assert app.AsyncResult(unique).get(timeout=5) == {1, 2}


def test_group_join_native(app, unique) -> None:
    ids = [f'{unique}-{i}' for i in range(5)]
    group = app.GroupResult(unique, [app.AsyncResult(i) for i in ids])
    writer = app.backend.__class__(app=app, url=REDIS_URL)

    def finish() -> None:
        for n, task_id in enumerate(reversed(ids)):
            writer.mark_as_done(task_id, len(ids) - 1 - n)
    threading.Timer(0.2, finish).start()
    assert group.join_native(timeout=5) == [0, 1, 2, 3, 4]


class Body(dict):
    def delay(self, value):
        self['called_with'] = value


def test_native_chord(app, unique, monkeypatch) -> None:
    monkeypatch.setattr('celery.canvas.maybe_signature', lambda sig, app=None: sig,
                        raising=False)
    backend = app.backend
    body = Body(task='body', options={})
    backend.set_chord_size(unique, 3)
    for index in (2, 0, 1):
        request = SimpleNamespace(id=f'{unique}-{index}', group=unique, group_index=index,
                                  chord=body)
        backend.on_chord_part_return(request, states.SUCCESS, index * 10)
    assert body['called_with'] == [0, 10, 20]
    assert not backend.client.exists(backend.get_key_for_group(unique, '.j'))


@needs_redis_server
def test_backend_goes_away_and_comes_back_during_get(make_app, unique) -> None:
    from celery import Celery
    port = free_port()
    server = start_redis(port)
    url = f'redis://127.0.0.1:{port}/0'
    client = Celery(f'c-{unique}', set_as_current=False, backend=url)
    writer = Celery(f'w-{unique}', set_as_current=False, backend=url)
    try:
        def outage() -> None:
            nonlocal server
            time.sleep(0.3)
            server.kill()
            server.wait()
            time.sleep(0.5)
            server = start_redis(port)
            writer.backend.mark_as_done(unique, 'survived')
        thread = threading.Thread(target=outage)
        thread.start()
        assert client.AsyncResult(unique).get(timeout=20) == 'survived'
        thread.join(10)
    finally:
        server.kill()
        server.wait()
        client.close()
        writer.close()




def test_a_forked_child_keeps_the_backend_and_connects_anew(app, unique) -> None:
    backend = app.backend
    backend.mark_as_done(f'{unique}-parent', 'from parent')
    parent_connection = backend.client.connection_pool.get_connection()
    backend.client.connection_pool.release(parent_connection)

    def child() -> str:
        kept = app.backend is backend
        app.backend.mark_as_done(unique, 'from child')
        fresh = app.backend.client.connection_pool.get_connection() is not parent_connection
        return f'{kept} {fresh}'
    assert in_child(child) == 'True True'
    assert app.AsyncResult(unique).get(timeout=5) == 'from child'
    # The parent's connection was left alone.
    assert backend.client.get(f'it{unique}_celery-task-meta-{unique}-parent') is not None


def test_a_backend_that_does_not_survive_a_fork_is_built_again(make_app) -> None:
    app = make_app('cache', url='cache+memory://')
    backend = app.backend
    assert not backend.survives_fork
    assert in_child(lambda: app.backend is not backend) == 'True'

"""Meta encoding per serializer and key layout, checked on the in-memory cache backend."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from celery import states
from celery.backends.cache import CacheBackend
from celery.exceptions import ImproperlyConfigured


def request(**kw):
    defaults = {'group': None, 'parent_id': None, 'chord': None, 'ignore_result': False,
                    'children': [], 'errbacks': None, 'chain': None}
    return SimpleNamespace(**{**defaults, **kw})


def test_stored_meta_is_celery_wire_format(app, unique) -> None:
    backend = app.backend
    backend.mark_as_failure(unique, ValueError('bad', 2), traceback='TB',
                            request=request(group='g1', parent_id='p1'))
    raw = backend.get(backend.get_key_for_task(unique))
    meta = json.loads(raw)
    assert meta['status'] == 'FAILURE' and meta['task_id'] == unique
    assert meta['result'] == {'exc_type': 'ValueError', 'exc_message': ['bad', 2],
                              'exc_module': 'builtins'}
    assert meta['traceback'] == 'TB' and meta['children'] == []
    assert meta['group_id'] == 'g1' and meta['parent_id'] == 'p1'
    assert isinstance(meta['date_done'], str)


def test_unready_meta_has_no_date(app, unique) -> None:
    backend = app.backend
    backend.mark_as_started(unique, pid=1, hostname='h')
    meta = json.loads(backend.get(backend.get_key_for_task(unique)))
    assert meta['date_done'] is None and meta['result'] == {'pid': 1, 'hostname': 'h'}


def test_key_prefix(app, unique) -> None:
    backend = app.backend
    assert backend.get_key_for_task('x') == b'celery-task-meta-x'
    assert backend.get_key_for_group('x', '.j') == b'celery-taskset-meta-x.j'
    assert backend.get_key_for_chord('x') == b'chord-unlock-x'
    app.conf.result_backend_transport_options = {'global_keyprefix': 'pfx'}
    prefixed = CacheBackend(app=app, url='memory://')
    assert prefixed.get_key_for_task('x') == b'pfx_celery-task-meta-x'


def test_success_is_write_once(app, unique) -> None:
    backend = app.backend
    backend.mark_as_done(unique, 1)
    backend.mark_as_failure(unique, KeyError('late duplicate'))
    assert app.AsyncResult(unique).get() == 1


@pytest.mark.parametrize('serializer', ['json', 'pickle', 'msgpack', 'yaml'])
def test_serializers_round_trip(app, unique, serializer: str) -> None:
    app.conf.result_serializer = serializer
    app.conf.accept_content = ['json', 'pickle', 'msgpack', 'yaml']
    backend = CacheBackend(app=app, url='memory://')
    backend.store_result(unique, [1, 'a'], states.SUCCESS)
    backend.mark_as_failure(unique + 'f', KeyError('k'))
    assert backend.get_task_meta(unique)['result'] == [1, 'a']
    exc = backend.get_task_meta(unique + 'f')['result']
    assert type(exc) is KeyError and exc.args == ('k',)


def test_unaccepted_content_is_refused(app, unique) -> None:
    from kombu.exceptions import ContentDisallowed, DecodeError
    app.conf.result_serializer = 'pickle'
    writer = CacheBackend(app=app, url='memory://')
    writer.store_result(unique, 1, states.SUCCESS)
    app.conf.result_serializer = 'json'
    reader = CacheBackend(app=app, url='memory://')
    with pytest.raises((ContentDisallowed, DecodeError)):
        reader.get_task_meta(unique)


def test_unknown_serializer(app) -> None:
    app.conf.result_serializer = 'nope'
    with pytest.raises(ImproperlyConfigured, match='result_serializer'):
        CacheBackend(app=app, url='memory://')


def test_ignore_result_request_is_not_stored(app, unique) -> None:
    app.backend.mark_as_done(unique, 1, request=request(ignore_result=True))
    assert app.AsyncResult(unique).state == states.PENDING


def test_store_retries_transient_errors(app, unique) -> None:
    app.conf.result_backend_always_retry = True
    app.conf.result_backend_base_sleep_between_retries_ms = 1
    backend = CacheBackend(app=app, url='memory://')
    calls = []
    real_set = backend.set

    def flaky_set(key, value):
        calls.append(key)
        if len(calls) < 3:
            raise ConnectionError('down')
        return real_set(key, value)
    backend.set = flaky_set
    backend.exception_safe_to_retry = lambda exc: isinstance(exc, ConnectionError)
    backend.store_result(unique, 1, states.SUCCESS)
    assert len(calls) == 3 and backend.get_task_meta(unique)['result'] == 1


def test_store_gives_up_after_max_retries(app, unique) -> None:
    from celery.exceptions import BackendStoreError
    app.conf.result_backend_always_retry = True
    app.conf.result_backend_max_retries = 2
    app.conf.result_backend_base_sleep_between_retries_ms = 1
    backend = CacheBackend(app=app, url='memory://')

    def down(key, value):
        raise ConnectionError('down')
    backend.set = down
    backend.exception_safe_to_retry = lambda exc: True
    with pytest.raises(BackendStoreError) as info:
        backend.store_result(unique, 1, states.SUCCESS)
    assert info.value.task_id == unique


def test_non_retryable_errors_raise_immediately(app, unique) -> None:
    app.conf.result_backend_always_retry = True
    backend = CacheBackend(app=app, url='memory://')

    def broken(key, value):
        raise ValueError('bug')
    backend.set = broken
    with pytest.raises(ValueError):
        backend.store_result(unique, 1, states.SUCCESS)

"""Choosing a backend by URL or alias, and configuration errors."""
from __future__ import annotations

import pytest

from celery.app.backends import by_name, by_url
from celery.backends.base import DisabledBackend
from celery.backends.cache import CacheBackend
from celery.exceptions import ImproperlyConfigured


@pytest.mark.parametrize('url,cls_name,rest', [
    ('redis://localhost/1', 'RedisBackend', 'redis://localhost/1'),
    ('rediss://h:6380/0?ssl_cert_reqs=required', 'RedisBackend',
     'rediss://h:6380/0?ssl_cert_reqs=required'),
    ('redis+socket:///tmp/r.sock', 'RedisBackend', 'redis+socket:///tmp/r.sock'),
    ('sentinel://h:26379', 'SentinelBackend', 'sentinel://h:26379'),
    ('rpc://', 'RPCBackend', 'rpc://'),
    ('cache+memcached://127.0.0.1:11211/', 'CacheBackend', 'memcached://127.0.0.1:11211/'),
    ('db+postgresql://u@h/db', 'DatabaseBackend', 'postgresql://u@h/db'),
    ('file:///tmp', 'FilesystemBackend', 'file:///tmp'),
    ('disabled://', 'DisabledBackend', 'disabled://'),
])
def test_by_url(url: str, cls_name: str, rest: str) -> None:
    cls, found = by_url(url)
    assert cls.__name__ == cls_name and found == rest


def test_by_name_aliases_and_paths() -> None:
    assert by_name('cache') is CacheBackend
    assert by_name(None) is DisabledBackend
    assert by_name('celery.backends.cache:CacheBackend') is CacheBackend
    assert by_name(CacheBackend) is CacheBackend


def test_unknown_scheme_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfigured, match='Unknown result backend'):
        by_url('nosuch://x')


def test_missing_client_library_names_the_extra(monkeypatch) -> None:
    import sys
    monkeypatch.setitem(sys.modules, 'pymongo', None)
    monkeypatch.delitem(sys.modules, 'celery.backends.mongodb', raising=False)
    with pytest.raises(ImproperlyConfigured):
        by_url('mongodb://localhost')


def test_disabled_backend(unique) -> None:
    from celery import Celery
    app = Celery(unique, set_as_current=False)
    assert isinstance(app.backend, DisabledBackend)
    app.backend.store_result(unique, 1, 'SUCCESS')
    with pytest.raises(NotImplementedError, match='No result backend'):
        app.AsyncResult(unique).get()
    assert app.backend.as_uri() == 'disabled://'

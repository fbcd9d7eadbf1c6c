"""Redis backend URL parsing and settings (no server needed: the client connects lazily)."""
from __future__ import annotations

import ssl

import pytest

from celery.exceptions import ImproperlyConfigured


def backend_for(app, url):
    from celery.backends.redis import RedisBackend
    return RedisBackend(app=app, url=url)


def test_url_parts(app) -> None:
    params = backend_for(app, 'redis://:sec%40ret@example.com:6390/4').connparams
    assert (params['host'], params['port'], params['db'], params['password']) == (
        'example.com', 6390, 4, 'sec@ret')


def test_settings_are_defaults(app) -> None:
    app.conf.redis_socket_timeout = 3.0
    app.conf.redis_max_connections = 7
    params = backend_for(app, 'redis://localhost').connparams
    assert params['socket_timeout'] == 3.0 and params['max_connections'] == 7
    assert params['db'] == 0


def test_unix_socket(app) -> None:
    params = backend_for(app, 'socket:///tmp/redis.sock?virtual_host=3').connparams
    assert params['path'] == '/tmp/redis.sock' and params['db'] == 3
    assert 'host' not in params


def test_rediss_requires_cert_reqs(app) -> None:
    with pytest.raises(ImproperlyConfigured, match='ssl_cert_reqs'):
        backend_for(app, 'rediss://localhost:6380/0')
    params = backend_for(app, 'rediss://localhost:6380/0?ssl_cert_reqs=required').connparams
    assert params['ssl_cert_reqs'] == ssl.CERT_REQUIRED


def test_ssl_options_on_redis_scheme_refused(app) -> None:
    with pytest.raises(ImproperlyConfigured, match='rediss'):
        backend_for(app, 'redis://localhost/0?ssl_cert_reqs=required')


def test_use_ssl_setting(app) -> None:
    app.conf.redis_backend_use_ssl = {'ssl_cert_reqs': ssl.CERT_NONE}
    params = backend_for(app, 'redis://localhost/0').connparams
    assert params['ssl_cert_reqs'] == ssl.CERT_NONE


def test_as_uri_hides_password(app) -> None:
    backend = backend_for(app, 'redis://:secret@localhost/0')
    assert 'secret' not in backend.as_uri()
    assert 'secret' in backend.as_uri(include_password=True)


def test_expires_is_seconds(app) -> None:
    from datetime import timedelta
    app.conf.result_expires = timedelta(hours=1)
    assert backend_for(app, 'redis://localhost').expires == 3600


def test_sentinel_needs_master_name(app) -> None:
    from celery.backends.redis import SentinelBackend
    backend = SentinelBackend(app=app, url='sentinel://h1:26379;sentinel://h2:26379')
    assert [h['host'] for h in backend.connparams['hosts']] == ['h1', 'h2']
    with pytest.raises(ImproperlyConfigured, match='master_name'):
        backend.client  # noqa: B018 - the client is built on first access

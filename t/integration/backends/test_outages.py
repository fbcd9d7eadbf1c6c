"""The backend connection is cut and restored (a loopback proxy) during store and get()."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from celery import states
from celery.exceptions import BackendStoreError
from t.servers import POSTGRES_URL, REDIS_URL, via_local_port
from t.integration.proxy import TcpProxy

OUTAGE = 1.0


@pytest.fixture
def proxy_to():
    proxies = []

    def _start(url: str) -> TcpProxy:
        from kombu.utils.url import _parse_url
        proxy = TcpProxy(_parse_url(url)[2])
        proxy.up()
        proxies.append(proxy)
        return proxy
    yield _start
    for proxy in proxies:
        proxy.down()


def restore_later(proxy: TcpProxy, after: float = OUTAGE) -> threading.Timer:
    timer = threading.Timer(after, proxy.up)
    timer.start()
    return timer


def postgres_app(make_app, proxy: TcpProxy, **conf):
    url = via_local_port(POSTGRES_URL, proxy.port)
    assert url != POSTGRES_URL
    return make_app('postgresql', url='db+' + url, result_backend_always_retry=True,
                    result_backend_base_sleep_between_retries_ms=50,
                    result_backend_max_sleep_between_retries_ms=400, **conf)


def spy_on_sleeps(backend) -> list[float]:
    sleeps: list[float] = []
    real_sleep = backend._sleep

    def _sleep(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)
    backend._sleep = _sleep
    return sleeps


def test_postgres_store_is_retried_until_the_database_is_back(
        proxy_to, make_app, unique, caplog) -> None:
    proxy = proxy_to(POSTGRES_URL)
    app = postgres_app(make_app, proxy)
    backend = app.backend
    backend.store_result(f'{unique}-before', 1, states.SUCCESS)  # pooled connection open
    sleeps = spy_on_sleeps(backend)

    proxy.down()
    restore_later(proxy)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger='celery.backends.base'):
        backend.store_result(unique, 'stored after outage', states.SUCCESS)
    assert time.monotonic() - start >= OUTAGE * 0.8
    assert len(sleeps) >= 2 and 'retry' in caplog.text
    # Exponential backoff with jitter: bounded by base * 2**n and by the maximum.
    assert all(0 <= s <= min(0.4, 0.05 * 2 ** (n + 1)) for n, s in enumerate(sleeps))
    assert app.AsyncResult(unique).get(timeout=5) == 'stored after outage'


def test_postgres_get_recovers_after_an_outage(proxy_to, make_app, unique) -> None:
    proxy = proxy_to(POSTGRES_URL)
    client = postgres_app(make_app, proxy)
    client.AsyncResult(f'{unique}-warm').state  # noqa: B018 - tables and a pooled connection
    writer = make_app('postgresql')  # same tables, direct connection

    proxy.down()
    writer.backend.mark_as_done(unique, 'written during outage')
    restore_later(proxy)
    start = time.monotonic()
    assert client.AsyncResult(unique).get(timeout=20, interval=0.1) == 'written during outage'
    assert time.monotonic() - start >= OUTAGE * 0.8


def test_postgres_gives_up_with_backend_store_error(proxy_to, make_app, unique) -> None:
    proxy = proxy_to(POSTGRES_URL)
    app = postgres_app(make_app, proxy, result_backend_max_retries=2)
    app.backend.store_result(f'{unique}-before', 1, states.SUCCESS)
    proxy.down()
    try:
        with pytest.raises(BackendStoreError, match='failed to store result'):
            app.backend.store_result(unique, 'lost', states.SUCCESS)
    finally:
        proxy.up()


def test_redis_store_is_retried_until_the_server_is_back(proxy_to, make_app, unique) -> None:
    proxy = proxy_to(REDIS_URL)
    app = make_app('redis', result_expires=60,
                   url=via_local_port(REDIS_URL, proxy.port))
    app.conf.result_backend_transport_options = {
        'global_keyprefix': f'it{unique}_',
        'retry_policy': {'interval_step': 0.2, 'interval_max': 0.2}}
    backend = app.backend
    backend.store_result(f'{unique}-before', 1, states.SUCCESS)

    proxy.down()
    restore_later(proxy)
    start = time.monotonic()
    backend.mark_as_done(unique, 'stored after outage')
    assert time.monotonic() - start >= OUTAGE * 0.8
    assert app.AsyncResult(unique).get(timeout=5) == 'stored after outage'

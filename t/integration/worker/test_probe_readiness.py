"""/readyz follows the broker connection and the consumed queues; reconnects are counted."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from celery import Celery
from t.integration.proxy import TcpProxy
from t.integration.worker.conftest import REDIS_BACKEND, wait_for
from t.integration.worker.test_probes import free_port, get, sample

pytest.importorskip('prometheus_client')
pytestmark = pytest.mark.timeout(120)


def through(proxy: TcpProxy, url: str) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition('@')[0]
    netloc = f'{credentials}@127.0.0.1:{proxy.port}' if credentials else f'127.0.0.1:{proxy.port}'
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
def proxy(broker_url: str) -> Iterator[TcpProxy]:
    """A cuttable loopback path to the parametrized broker."""
    proxy = TcpProxy(urlsplit(broker_url).port or 5672)
    proxy.up()
    yield proxy
    proxy.down()


@pytest.fixture
def proxied_app(proxy: TcpProxy, broker_url: str, unique: str) -> Iterator[Celery]:
    app = Celery(f'ready{unique}', set_as_current=False, broker=through(proxy, broker_url),
                 backend=REDIS_BACKEND)
    app.conf.task_default_queue = f'q.ready.{unique}'
    app.conf.broker_connection_retry_on_startup = True
    # Retry quickly so that the test sees the worker ready again soon after.
    app.conf.broker_transport_options = {'max_retries': None, 'interval_start': 0,
                                         'interval_step': 0.5, 'interval_max': 1}

    @app.task(name='ready.add')
    def add(x: int, y: int) -> int:
        return x + y
    yield app
    app.close()


def status(port: int, path: str) -> int:
    return get(port, path)[0]


def test_not_ready_while_the_broker_is_unreachable(proxied_app: Celery, proxy: TcpProxy,
                                                   run_worker: Any) -> None:
    port = free_port()
    run_worker(proxied_app, health_port=port, metrics_port=port)
    assert status(port, '/readyz') == 200
    assert sample(get(port, '/metrics')[1], 'celery_worker_broker_reconnects_total') == 0
    proxy.down()
    assert wait_for(lambda: status(port, '/readyz') == 503, timeout=20)
    code, detail = get(port, '/readyz')
    assert code == 503 and 'not connected' in detail
    # Losing the broker is not a reason to restart the worker: still alive.
    assert status(port, '/healthz') == 200
    proxy.up()
    assert wait_for(lambda: status(port, '/readyz') == 200, timeout=30)
    assert proxied_app.tasks['ready.add'].delay(2, 3).get(timeout=20) == 5
    assert sample(get(port, '/metrics')[1], 'celery_worker_broker_reconnects_total') == 1


def test_not_ready_while_consuming_no_queue(make_app: Any, run_worker: Any) -> None:
    app = make_app()
    port = free_port()
    running = run_worker(app, health_port=port)
    queue = app.conf.task_default_queue
    assert status(port, '/readyz') == 200
    node = [running.worker.hostname]
    # Redis broadcasts reach only workers already subscribed: wait for a pong first.
    assert wait_for(lambda: app.control.ping(destination=node, timeout=0.5), timeout=10)
    assert app.control.cancel_consumer(queue, destination=node, reply=True, timeout=5)
    assert wait_for(lambda: status(port, '/readyz') == 503, timeout=10)
    assert get(port, '/readyz')[1] == 'not consuming any queue\n'
    assert app.control.add_consumer(queue, destination=node, reply=True, timeout=5)
    assert wait_for(lambda: status(port, '/readyz') == 200, timeout=10)

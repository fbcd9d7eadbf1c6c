"""Every metric the production guide lists, from a real worker on RabbitMQ and Redis."""
from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from celery.exceptions import Reject
from t.integration.worker.conftest import wait_for
from t.integration.worker.test_probes import free_port, get, sample

pytest.importorskip('prometheus_client')
pytestmark = pytest.mark.timeout(120)


def metrics(port: int) -> str:
    return get(port, '/metrics')[1]


def probe_servers(running: Any) -> list[Any]:
    (step,) = [s for s in running.worker.blueprint.steps.values() if s.label == 'Probes']
    return list(step.servers)


def test_every_outcome_is_counted_by_task_name(make_app: Any, run_worker: Any) -> None:
    app = make_app()

    @app.task(name='m.retry', shared=False, bind=True, max_retries=1, default_retry_delay=0)
    def retry_once(self: Any) -> str:
        if not self.request.retries:
            raise self.retry(countdown=0)
        return 'again'

    @app.task(name='m.reject', shared=False, acks_late=True)
    def reject() -> None:
        raise Reject('no', requeue=False)

    @app.task(name='m.add', shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    port = free_port()
    run_worker(app, metrics_port=port)
    assert retry_once.delay().get(timeout=20) == 'again'
    reject.delay()
    app.control.revoke('revoked-before-it-ran')
    add.apply_async((1, 1), task_id='revoked-before-it-ran')
    assert add.delay(1, 2).get(timeout=20) == 3

    def counted() -> bool:
        text = metrics(port)
        return (sample(text, 'celery_tasks_rejected_total', 'm.reject') == 1
                and sample(text, 'celery_tasks_revoked_total', 'm.add') == 1)
    assert wait_for(counted, timeout=20), metrics(port)
    text = metrics(port)
    assert sample(text, 'celery_tasks_retried_total', 'm.retry') == 1
    assert sample(text, 'celery_tasks_received_total', 'm.retry') == 2
    assert sample(text, 'celery_tasks_succeeded_total', 'm.retry') == 1
    # As Celery's task_received signal: a message revoked on arrival is not received.
    assert sample(text, 'celery_tasks_received_total', 'm.add') == 1
    assert sample(text, 'celery_tasks_succeeded_total', 'm.add') == 1
    assert sample(text, 'celery_worker_prefetch_count') == 2 * app.conf.worker_prefetch_multiplier


def test_queue_wait_counts_from_the_publish_timestamp(make_app: Any, run_worker: Any) -> None:
    app = make_app()

    @app.task(name='m.add', shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    port = free_port()
    run_worker(app, metrics_port=port)
    # Published 60 s ago as far as the message says (an AMQP timestamp property).
    assert add.apply_async((1, 1), timestamp=int(time.time()) - 60).get(timeout=20) == 2
    assert wait_for(lambda: sample(metrics(port), 'celery_task_queue_wait_seconds_count',
                                   'm.add') == 1)
    assert sample(metrics(port), 'celery_task_queue_wait_seconds_sum', 'm.add') >= 59


def test_reserved_and_active_gauges_and_pool_restarts(make_app: Any, run_worker: Any) -> None:
    app = make_app()

    @app.task(name='m.nap', shared=False)
    def nap(seconds: float) -> None:
        time.sleep(seconds)

    port = free_port()
    run_worker(app, metrics_port=port, max_tasks_per_child=1)
    naps = [nap.delay(1.5) for _ in range(5)]

    def saturated() -> bool:
        text = metrics(port)
        return (sample(text, 'celery_worker_active_tasks') == 2
                and sample(text, 'celery_worker_reserved_tasks') >= 3)
    assert wait_for(saturated, timeout=20), metrics(port)
    for result in naps:
        result.get(timeout=30)
    # One task per child: every finished task replaces its process.
    assert wait_for(lambda: sample(metrics(port),
                                   'celery_worker_pool_process_restarts_total') >= 2,
                    timeout=20), metrics(port)
    assert sample(metrics(port), 'celery_worker_pool_processes') == 2


def test_only_metrics_and_health_on_loopback(make_app: Any, run_worker: Any) -> None:
    app = make_app()

    @app.task(name='m.echo', shared=False)
    def echo(value: str) -> str:
        return value

    port = free_port()
    running = run_worker(app, metrics_port=port, health_port=port)
    assert [server.address for server in probe_servers(running)] == ['127.0.0.1']
    secret = 'argument-no-scrape-may-see'
    assert echo.delay(secret).get(timeout=20) == secret
    text = metrics(port)
    assert secret not in text
    assert app.conf.broker_url not in text and 'guest' not in text
    assert {path: get(port, path)[0] for path in ('/metrics', '/healthz', '/readyz', '/',
                                                  '/debug', '/metrics/../etc')} == {
        '/metrics': 200, '/healthz': 200, '/readyz': 200, '/': 404, '/debug': 404,
        '/metrics/../etc': 404}
    with socket.create_connection(('127.0.0.1', port), timeout=5) as client:
        client.sendall(b'POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc')
        assert b' 405 ' in client.recv(1024)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as client:
        client.sendall(b'\x00\x16\x03\x01 garbage\r\n\r\n')  # not HTTP at all (a TLS hello)
        assert client.recv(1024).split(b' ')[1] == b'400'
    assert get(port, '/healthz')[0] == 200
    assert echo.delay('still working').get(timeout=20) == 'still working'


def test_address_setting_for_containers(make_app: Any, run_worker: Any) -> None:
    app = make_app(worker_metrics_address='0.0.0.0')
    running = run_worker(app, health_port=free_port())
    assert [server.address for server in probe_servers(running)] == ['0.0.0.0']

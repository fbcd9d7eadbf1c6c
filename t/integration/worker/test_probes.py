"""Metrics and health probes of a real worker (prefork) on RabbitMQ and Redis."""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from celery.exceptions import ImproperlyConfigured
from t.integration.worker.conftest import wait_for

pytest.importorskip('prometheus_client')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(text: str, name: str, task: str | None = None) -> float:
    """The value of metric ``name`` (for ``task``) in a text exposition."""
    label = f'{{task="{task}"}}' if task else ''
    for line in text.splitlines():
        if line.startswith(f'{name}{label} '):
            return float(line.rsplit(' ', 1)[1])
    return 0.0


def define_tasks(app: Any) -> None:
    @app.task(name='probe.add')
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name='probe.boom')
    def boom() -> None:
        raise ValueError('boom')

    @app.task(name='probe.spin')
    def spin(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pass


def test_metrics_and_probes_on_one_port(make_app: Any, run_worker: Any) -> None:
    app = make_app()
    define_tasks(app)
    port = free_port()
    run_worker(app, metrics_port=port, health_port=port)
    for _ in range(3):
        app.tasks['probe.add'].delay(2, 2).get(timeout=10)
    with pytest.raises(ValueError):
        app.tasks['probe.boom'].delay().get(timeout=10)

    def counted() -> bool:
        return sample(get(port, '/metrics')[1], 'celery_tasks_failed_total', 'probe.boom') == 1
    assert wait_for(counted)
    text = get(port, '/metrics')[1]
    assert sample(text, 'celery_tasks_received_total', 'probe.add') == 3
    assert sample(text, 'celery_tasks_started_total', 'probe.add') == 3
    assert sample(text, 'celery_tasks_succeeded_total', 'probe.add') == 3
    assert sample(text, 'celery_task_runtime_seconds_count', 'probe.add') == 3
    assert sample(text, 'celery_task_queue_wait_seconds_count', 'probe.add') == 3
    assert sample(text, 'celery_worker_pool_processes') == 2
    assert 'celery_worker_event_loop_lag_seconds' in text
    assert get(port, '/healthz') == (200, 'ok\n')
    assert get(port, '/readyz') == (200, 'ok\n')
    assert get(port, '/other')[0] == 404


def test_probes_answer_fast_while_pool_is_saturated(make_app: Any, run_worker: Any) -> None:
    app = make_app()
    define_tasks(app)
    health, metrics = free_port(), free_port()
    run_worker(app, metrics_port=metrics, health_port=health)
    results = [app.tasks['probe.spin'].delay(3) for _ in range(6)]
    assert wait_for(lambda: sample(get(metrics, '/metrics')[1],
                                   'celery_worker_active_tasks') == 2)
    for path in ('/healthz', '/readyz'):
        start = time.monotonic()
        assert get(health, path)[0] == 200
        assert time.monotonic() - start < 0.1
    for result in results:
        result.get(timeout=30)


def test_slow_client_does_not_block_probes(make_app: Any, run_worker: Any) -> None:
    app = make_app()
    define_tasks(app)
    port = free_port()
    run_worker(app, health_port=port)
    with socket.create_connection(('127.0.0.1', port)) as idle:
        idle.sendall(b'GET /hea')  # never finishes its request
        assert get(port, '/healthz')[0] == 200
        assert app.tasks['probe.add'].delay(1, 1).get(timeout=10) == 2
    with socket.create_connection(('127.0.0.1', port)) as huge:
        huge.sendall(b'GET /' + b'x' * 10000 + b' HTTP/1.0\r\n\r\n')
        assert b' 414 ' in huge.recv(1024)


def test_port_in_use_is_a_clear_error(make_app: Any) -> None:
    app = make_app()
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ImproperlyConfigured, match=f'worker_health_port: port {port}.*in use'):
            app.WorkController(hostname='probe-in-use@localhost', pool='solo',
                               health_port=port, without_mingle=True)

"""Probes are opt-in; /healthz and /readyz answer from the loop's state; the server is bounded."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from celery import Celery
from celery.worker.health import WorkerHealth
from celery.worker.http_probe import PLAIN, ProbeServer
from celery.worker.probes import _health_routes
from celery.worker.request_events import request_event
from t.integration.worker.conftest import wait_for


def test_default_worker_has_no_probe_step_thread_or_receiver() -> None:
    app = Celery('noprobes', set_as_current=False, broker='memory://')
    threads_before = {t.name for t in threading.enumerate()}
    worker = app.WorkController(hostname='noprobes@localhost', pool='solo',
                                without_mingle=True, without_gossip=True)
    assert not any(type(step).__name__ == 'Probes' for step in worker.steps)
    assert getattr(worker, 'health', None) is None
    assert not request_event.receivers
    assert not [t for t in threading.enumerate()
                if t.name.startswith('celery-probe') and t.name not in threads_before]


def test_import_celery_does_not_import_prometheus_client() -> None:
    code = 'import celery, celery.worker.worker, sys; print("prometheus_client" in sys.modules)'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'False'


def pool(*pids: int) -> Any:
    """A forking pool whose live children have ``pids``."""
    return SimpleNamespace(child_pids=lambda: set(pids))


def answers(health: WorkerHealth, worker: Any = None) -> dict[str, tuple[int, bytes]]:
    routes = _health_routes(health, worker or SimpleNamespace(consumer=None))
    return {path: route()[:2] for path, route in routes.items()}


def test_nothing_is_healthy_or_ready_before_the_loop_runs() -> None:
    assert answers(WorkerHealth()) == {'/healthz': (503, b'event loop not started\n'),
                                       '/readyz': (503, b'not connected to the broker\n')}


def test_healthy_and_ready_while_the_loop_turns_with_live_processes() -> None:
    health = WorkerHealth()
    health.on_consuming()
    health.tick(pool(11, 12))
    assert answers(health) == {'/healthz': (200, b'ok\n'), '/readyz': (200, b'ok\n')}


def test_a_stalled_loop_is_not_healthy() -> None:
    health = WorkerHealth(stall_after=0.05)
    health.on_consuming()
    health.tick(pool(11))
    time.sleep(0.1)
    status, body = answers(health)['/healthz']
    assert status == 503 and body.startswith(b'event loop stalled for ')


def test_a_pool_without_live_processes_is_not_healthy() -> None:
    health = WorkerHealth()
    health.on_consuming()
    health.tick(pool())  # every child died, none replaced yet
    assert answers(health)['/healthz'] == (503, b'no live pool processes\n')


def test_a_pool_without_child_processes_counts_its_threads() -> None:
    health = WorkerHealth()
    health.tick(SimpleNamespace(num_processes=4))  # threads, eventlet: no pids
    assert health.pool_processes == 4 and answers(health)['/healthz'] == (200, b'ok\n')


def test_loop_lag_is_how_late_the_periodic_tick_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 101.0, 104.5])  # on time, then 2.5 s late (1 s interval)
    monkeypatch.setattr('celery.worker.health.monotonic', lambda: next(clock))
    health = WorkerHealth()
    health.tick(pool(11))
    health.tick(pool(11))
    assert health.loop_lag == 0.0
    health.tick(pool(11))
    assert health.loop_lag == 2.5


def test_replaced_processes_are_counted_as_restarts() -> None:
    health = WorkerHealth()
    health.tick(pool(11, 12))
    health.tick(pool(11, 13))
    health.tick(pool(14, 15))
    assert (health.pool_restarts, health.pool_processes) == (3, 2)


def test_lost_connection_is_alive_but_not_ready_and_reconnects_are_counted() -> None:
    health = WorkerHealth()
    health.on_consuming()
    health.tick(pool(11))
    health.on_connection_lost()
    assert answers(health) == {'/healthz': (200, b'ok\n'),
                               '/readyz': (503, b'not connected to the broker\n')}
    health.on_consuming()
    assert health.broker_reconnects == 1 and answers(health)['/readyz'] == (200, b'ok\n')


def test_connected_but_consuming_no_queue_is_not_ready() -> None:
    health = WorkerHealth()
    health.on_consuming()
    worker = SimpleNamespace(consumer=SimpleNamespace(task_consumer=SimpleNamespace(queues=[])))
    assert answers(health, worker)['/readyz'] == (503, b'not consuming any queue\n')


# -- the HTTP server ---------------------------------------------------------------

@pytest.fixture
def server() -> Iterator[ProbeServer]:
    probe = ProbeServer('127.0.0.1', 0, {'/healthz': lambda: (200, b'ok\n', PLAIN)},
                        setting='worker_health_port', max_clients=2)
    probe.start()
    yield probe
    probe.stop()


def healthz(port: int) -> bytes:
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=5) as resp:
        return bytes(resp.read())


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b''
    except ConnectionResetError:
        return True


def test_idle_clients_beyond_the_limit_are_disconnected(server: ProbeServer) -> None:
    idle = [socket.create_connection(('127.0.0.1', server.port)) for _ in range(2)]
    try:
        for sock in idle:
            sock.sendall(b'GET /hea')  # never finishes: holds a slot
        extra = socket.create_connection(('127.0.0.1', server.port), timeout=5)
        with extra:
            assert closed_by_server(extra)
    finally:
        for sock in idle:
            sock.close()
    # The slots come back as soon as the idle clients leave.
    assert wait_for(lambda: _answers(server.port), timeout=5)


def _answers(port: int) -> bool:
    try:
        return healthz(port) == b'ok\n'
    except OSError:
        return False


def test_port_zero_binds_a_free_loopback_port(server: ProbeServer) -> None:
    assert server.address == '127.0.0.1' and server.port > 0
    assert healthz(server.port) == b'ok\n'


# -- the metrics ---------------------------------------------------------------------

def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    from celery.worker.metrics import WorkerMetrics
    metrics = WorkerMetrics(lambda: {})
    for runtime in (0.005, 0.006, 2.0, 10_000.0):
        request = SimpleNamespace(name='t.a', id=str(runtime), time_start=None,
                                  message=SimpleNamespace(properties={}))
        metrics.on_request_event(sender=request, type='task-succeeded',
                                 fields={'runtime': runtime})
    text = metrics.exposition()[0].decode()
    assert 'celery_task_runtime_seconds_bucket{le="0.005",task="t.a"} 1.0' in text
    assert 'celery_task_runtime_seconds_bucket{le="0.01",task="t.a"} 2.0' in text
    assert 'celery_task_runtime_seconds_bucket{le="3600.0",task="t.a"} 3.0' in text
    assert 'celery_task_runtime_seconds_bucket{le="+Inf",task="t.a"} 4.0' in text
    assert 'celery_task_runtime_seconds_count{task="t.a"} 4.0' in text
    assert 'celery_tasks_succeeded_total{task="t.a"} 4.0' in text


def test_request_event_calls_strong_receivers_directly_and_others_as_any_signal() -> None:
    from celery.worker.request_events import DirectSignal
    signal = DirectSignal(name='test')
    seen: list[Any] = []

    def strong(sender: Any = None, **kwargs: Any) -> str:
        seen.append(('strong', sender))
        return 'ok'

    def broken(sender: Any = None, **kwargs: Any) -> None:
        raise ValueError('broken receiver')

    signal.connect(strong, weak=False)
    signal.connect(broken, weak=False)
    responses = signal.send(sender='s1', type='task-started')
    assert responses[0] == (strong, 'ok') and isinstance(responses[1][1], ValueError)

    def only_s2(sender: Any = None, **kwargs: Any) -> None:
        seen.append(('only_s2', sender))
    signal.connect(only_s2, sender='s2', weak=False)  # falls back to Signal.send
    signal.send(sender='s1')
    signal.send(sender='s2')
    signal.disconnect(only_s2, sender='s2')
    signal.send(sender='s3')
    assert seen == [('strong', 's1'), ('strong', 's1'), ('strong', 's2'), ('only_s2', 's2'),
                    ('strong', 's3')]

"""What /healthz and /readyz answer, from the state the worker's loop keeps."""
from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from celery.worker.health import WorkerHealth
from celery.worker.probes import _health_routes


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

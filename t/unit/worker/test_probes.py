"""Probes are opt-in: nothing by default; health answers from the loop's state."""
from __future__ import annotations

import subprocess
import sys
import threading

from celery import Celery
from celery.worker.health import WorkerHealth
from celery.worker.request_events import request_event


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


def test_readiness_follows_the_connection() -> None:
    health = WorkerHealth()
    assert health.readiness()[0] is False
    health.on_consuming()
    assert health.readiness() == (True, 'ok')
    health.on_connection_lost()
    assert health.readiness() == (False, 'not connected to the broker')
    health.on_consuming()
    assert health.broker_reconnects == 1


def test_liveness_needs_a_tick_and_pool_processes() -> None:
    class Pool:
        num_processes = 2
    health = WorkerHealth(stall_after=0.0)
    assert health.liveness() == (False, 'event loop not started')
    health.tick(Pool())
    assert health.liveness() == (True, 'ok')
    health.on_consuming()
    assert health.liveness()[0] is False  # connected and the loop stopped ticking
    health.tick(type('Empty', (), {'num_processes': 0})())
    health.stall_after = 30.0
    assert health.liveness() == (False, 'no live pool processes')

"""A real prefork worker per broker (RabbitMQ and Redis), Redis results, unique queue."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from t.servers import AMQP_URL, REDIS_BACKEND_URL, REDIS_URL

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
REDIS_BROKER = REDIS_URL
REDIS_BACKEND = REDIS_BACKEND_URL
READY_TIMEOUT = 40.0


def start_worker(broker: str, backend: str, queue: str, concurrency: int = 2,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``celery worker`` for ``canvasapp`` consuming only ``queue``."""
    env = dict(os.environ, CANVAS_BROKER=broker, CANVAS_BACKEND=backend, CANVAS_QUEUE=queue,
               PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]), **(extra_env or {}))
    logfile = Path('/tmp') / f'canvas-worker-{queue}.log'
    out = open(logfile, 'w')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'canvasapp', 'worker', '-P', 'prefork',
         '-c', str(concurrency), '--without-mingle', '--without-gossip', '--without-heartbeat',
         '-Q', queue, '-l', 'info', '-n', f'{queue}@%h'],
        cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT)
    proc.logfile = logfile  # type: ignore[attr-defined]
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if ' ready.' in logfile.read_text():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f'worker did not start:\n{logfile.read_text()}')


def stop_worker(proc: subprocess.Popen) -> None:
    """Stop the worker (warm shutdown, then kill)."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope='module', params=['amqp', 'redis'])
def canvas(request: pytest.FixtureRequest) -> Iterator[object]:
    """``canvasapp`` module-like namespace: the client app and its tasks, with a live worker."""
    from .canvasapp import make_app
    broker = AMQP_URL if request.param == 'amqp' else REDIS_BROKER
    queue = f'canvas-{uuid.uuid4().hex[:10]}'
    worker = start_worker(broker, REDIS_BACKEND, queue)
    app = make_app(broker, REDIS_BACKEND, queue)
    try:
        yield app
    finally:
        stop_worker(worker)
        if request.node.session.testsfailed:
            sys.stderr.write(f'worker log kept in {worker.logfile}\n')  # type: ignore[attr-defined]
        else:
            worker.logfile.unlink(missing_ok=True)  # type: ignore[attr-defined]
        app.close()

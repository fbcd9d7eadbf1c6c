"""Shutting down and restarting the worker with signals."""
from __future__ import annotations

import signal
import time
from pathlib import Path

from .conftest import FAST


def _wait_for_file(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f'{path} never appeared'
        time.sleep(0.05)


def test_sigterm_is_warm_and_finishes_running_task(start_worker, client, queue_name, tmp_path):
    worker = start_worker(*FAST, '-l', 'INFO')
    worker.wait_ready()
    marker = tmp_path / 'warm'
    result = client.send_task('programapp.slow', (2, str(marker)), queue=queue_name)
    _wait_for_file(Path(f'{marker}.started'))
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert Path(f'{marker}.done').exists()
    assert 'worker: Warm shutdown (MainProcess)' in worker.output
    assert result.get(timeout=10) == 'finished'


def test_sigquit_is_cold_and_does_not_wait(start_worker, client, queue_name, tmp_path):
    worker = start_worker(*FAST, '-l', 'INFO')
    worker.wait_ready()
    marker = tmp_path / 'cold'
    client.send_task('programapp.slow', (60, str(marker)), queue=queue_name)
    _wait_for_file(Path(f'{marker}.started'))
    started = time.monotonic()
    worker.signal(signal.SIGQUIT)
    code = worker.wait(timeout=30)
    assert time.monotonic() - started < 20
    assert code == 1
    assert 'worker: Cold shutdown (MainProcess)' in worker.output
    assert not Path(f'{marker}.done').exists()


def test_second_sigint_turns_warm_into_cold(start_worker, client, queue_name, tmp_path):
    worker = start_worker(*FAST, '-l', 'INFO')
    worker.wait_ready()
    marker = tmp_path / 'int'
    client.send_task('programapp.slow', (60, str(marker)), queue=queue_name)
    _wait_for_file(Path(f'{marker}.started'))
    worker.signal(signal.SIGINT)
    worker.wait_for('Hitting Ctrl\\+C again will terminate', timeout=10)
    worker.signal(signal.SIGINT)
    assert worker.wait(timeout=30) == 1
    assert 'worker: Cold shutdown (MainProcess)' in worker.output
    assert not Path(f'{marker}.done').exists()


def test_sighup_restarts_the_worker(start_worker, client, queue_name):
    worker = start_worker(*FAST, '-l', 'INFO')
    worker.wait_ready()
    worker.signal(signal.SIGHUP)
    worker.wait_for('Restarting celery worker', timeout=10)
    worker.wait_ready(count=2, timeout=40)
    assert worker.proc.poll() is None
    assert client.send_task('programapp.add', (1, 2), queue=queue_name).get(timeout=20) == 3
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0


def test_sigusr1_dumps_thread_tracebacks(start_worker):
    worker = start_worker(*FAST, '-l', 'INFO')
    worker.wait_ready()
    worker.signal(signal.SIGUSR1)
    worker.wait_for('=== Thread MainThread', timeout=10)
    assert worker.proc.poll() is None  # still running
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0


def _children_of(pid: int) -> list[int]:
    path = Path(f'/proc/{pid}/task/{pid}/children')
    return [int(child) for child in path.read_text().split()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f'/proc/{pid}/status').read_text()
    except FileNotFoundError:
        return False
    return '\nState:\tZ' not in status


def test_pool_children_exit_when_the_worker_is_killed(start_worker):
    worker = start_worker(*FAST, '-l', 'INFO')
    worker.wait_ready()
    children = _children_of(worker.proc.pid)
    assert len(children) == 2
    worker.signal(signal.SIGKILL)
    worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children):
        assert time.monotonic() < deadline, 'pool children outlived the killed worker'
        time.sleep(0.1)

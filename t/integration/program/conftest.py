"""Start the real ``celery worker`` command as a subprocess and watch its output."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
START_TIMEOUT = 30.0


class WorkerProcess:
    """A ``python -m celery -A programapp ...`` subprocess with its merged output captured."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.args = [sys.executable, '-m', 'celery', '-A', 'programapp', *args]
        # A session of its own, so a stuck worker can be killed with its pool children.
        self.proc = subprocess.Popen(self.args, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return ''.join(self.lines)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT, count: int = 1) -> str:
        """Wait until ``pattern`` (a regex) matched ``count`` lines; return the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [line for line in self.lines if regex.search(line)]
                if len(matches) >= count:
                    return matches[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._eof:
                    raise AssertionError(
                        f'{pattern!r} not seen (exit={self.proc.poll()}); output:\n{"".join(self.lines)}')
                self._changed.wait(min(remaining, 0.2))

    def wait_ready(self, count: int = 1, timeout: float = START_TIMEOUT) -> None:
        """Wait for the ``celery@host ready.`` line."""
        self.wait_for(r' ready\.$', timeout=timeout, count=count)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for exit and return the exit code (kills on timeout and fails)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f'worker did not exit within {timeout}s; output:\n{self.output}') from None

    def stop(self) -> None:
        """Warm-stop the worker; kill its whole process group if that takes too long."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def queue_name(unique: str) -> str:
    return f'program-{unique}'


@pytest.fixture
def worker_env(broker_url: str, redis_backend_url: str, queue_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(HERE), str(REPO), env.get('PYTHONPATH', '')])
    env['CELERY_BROKER_URL'] = broker_url
    env['CELERY_RESULT_BACKEND'] = redis_backend_url
    env['PROGRAM_TEST_QUEUE'] = queue_name
    env.pop('CELERY_CONFIG_MODULE', None)
    return env


@pytest.fixture
def start_worker(worker_env, tmp_path, queue_name):
    """Start workers with extra arguments; all are stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        argv = list(args)
        if argv[:1] == ['worker'] and not ({'-n', '--hostname'} & set(argv)):
            # A node name of the test's own: two workers with the default name
            # (another test file running in parallel) would clash on RabbitMQ's
            # exclusive pidbox queue.
            argv += ['-n', f'{queue_name}-{len(started)}@%h']
        worker = WorkerProcess(argv, env or worker_env, tmp_path)
        started.append(worker)
        return worker
    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def client(broker_url, redis_backend_url, unique):
    """A client app sending by task name to the same broker and backend."""
    from celery import Celery
    app = Celery(f'program-client-{unique}', broker=broker_url, backend=redis_backend_url,
                 set_as_current=False)
    yield app
    app.close()


FAST = ('worker', '--without-mingle', '--without-gossip', '--without-heartbeat', '-c', '2')

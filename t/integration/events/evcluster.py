"""Worker and ``celery events`` processes running ``evapp`` for the events tests."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from t.integration import appenv

HERE = Path(__file__).parent
wait_for = appenv.wait_for
new_unique = appenv.new_unique


def environment(broker: str, unique: str, **extra: str) -> dict[str, str]:
    """Environment for a worker process running this directory's app module."""
    return appenv.environment('EV', HERE, broker, unique, **extra)


def load_app(broker: str, unique: str) -> Any:
    """Import a fresh copy of the app module configured for ``unique`` in this process."""
    return appenv.load_app('EV', 't.integration.events.evapp', broker, unique)


class CeleryProcess:
    """``celery -A evapp <argv>`` in a child process, output in a log file."""

    def __init__(self, broker: str, unique: str, name: str, *argv: str, **env: str) -> None:
        self.log = Path(f'/tmp/ev-{unique}-{name}.log')
        command = [sys.executable, '-m', 'celery', '-A', 'evapp', *argv]
        self.proc = subprocess.Popen(command, env=environment(broker, unique, **env),
                                     cwd=str(HERE), stdout=self.log.open('w'),
                                     stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors='replace') if self.log.exists() else ''

    def stop(self, timeout: float = 20.0, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.unlink(missing_ok=True)


class WorkerProcess(CeleryProcess):
    """``celery worker`` with events on (``-E``) running ``evapp``."""

    def __init__(self, broker: str, unique: str, name: str = 'w', *extra: str,
                 pool: str = 'solo') -> None:
        self.hostname = f'{name}@{unique}'
        super().__init__(broker, unique, name, 'worker', '-l', 'INFO', '-n', self.hostname,
                         '-P', pool, '-E', '--heartbeat-interval', '1', *extra)

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not wait_for(lambda: ' ready.' in self.output() or self.proc.poll() is not None,
                        timeout):
            raise AssertionError(f'worker {self.hostname} not ready:\n{self.output()}')
        if self.proc.poll() is not None:
            raise AssertionError(f'worker {self.hostname} exited:\n{self.output()}')

"""Real worker processes for the control/events integration tests."""
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


def environment(broker: str, unique: str) -> dict[str, str]:
    """Environment for a worker process running this directory's app module."""
    return appenv.environment('CTL', HERE, broker, unique)


def load_app(broker: str, unique: str) -> Any:
    """Import a fresh copy of the app module configured for ``unique`` in this process."""
    return appenv.load_app('CTL', 't.integration.control.ctlapp', broker, unique)


class WorkerProcess:
    """``celery worker`` running the test app in a child process."""

    def __init__(self, broker: str, unique: str, name: str, *extra: str,
                 pool: str = 'prefork', concurrency: int = 2) -> None:
        self.hostname = f'{name}@{unique}'
        self.log = Path(f'/tmp/ctl-{unique}-{name}.log')
        argv = [sys.executable, '-m', 'celery', '-A', 'ctlapp', 'worker', '-l', 'INFO',
                '-n', self.hostname, '-P', pool, '-c', str(concurrency), *extra]
        self.proc = subprocess.Popen(argv, env=environment(broker, unique), cwd=str(HERE),
                                     stdout=self.log.open('w'), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors='replace') if self.log.exists() else ''

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not wait_for(lambda: ' ready.' in self.output() or self.proc.poll() is not None,
                        timeout):
            raise AssertionError(f'worker {self.hostname} not ready:\n{self.output()}')
        if self.proc.poll() is not None:
            raise AssertionError(f'worker {self.hostname} exited:\n{self.output()}')

    def stop(self, timeout: float = 20.0) -> None:
        """Warm-stop the worker; one that does not exit in time is killed and fails the test."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(
                    f'{self.hostname} ignored SIGTERM for {timeout}s:\n{self.output()}') from None
        self.log.unlink(missing_ok=True)

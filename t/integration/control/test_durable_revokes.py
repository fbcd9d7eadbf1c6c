"""Durable revokes: a worker that was down during ``revoke()`` still skips the task."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from celery.exceptions import TaskRevokedError
from t.integration.control.cluster import HERE, WorkerProcess, environment, load_app


class DurableWorker(WorkerProcess):
    """A solo worker running ``durableapp`` (the control app with durable revokes)."""

    def __init__(self, broker: str, unique: str, name: str) -> None:
        self.hostname = f'{name}-{unique}@%h'
        self.log = Path(f'/tmp/ctl-durable-{unique}-{name}.log')
        argv = [sys.executable, '-m', 'celery', '-A', 'durableapp', 'worker', '-l', 'INFO',
                '-n', self.hostname, '-P', 'solo', '--without-mingle', '--without-gossip']
        self.proc = subprocess.Popen(argv, env=environment(broker, unique), cwd=str(HERE),
                                     stdout=self.log.open('w'), stderr=subprocess.STDOUT)


def _cli(broker: str, unique: str, *args: str) -> subprocess.CompletedProcess:
    # ``ctlapp``: a client without worker_revokes_backend set.
    return subprocess.run([sys.executable, '-m', 'celery', '-A', 'ctlapp', *args],
                          env=environment(broker, unique), cwd=str(HERE),
                          capture_output=True, text=True, timeout=60)


def test_revoke_while_no_worker_is_up_still_skips_the_task(broker_url: str,
                                                           unique: str) -> None:
    app = load_app(broker_url, unique).app
    app.conf.worker_revokes_backend = 'result_backend'
    by_worker, by_client = f'by-worker-{unique}', f'by-client-{unique}'
    first = DurableWorker(broker_url, unique, 'first')
    try:
        first.wait_ready()
        # A CLI client without the setting: the worker that receives it records it.
        revoked = _cli(broker_url, unique, 'control', 'revoke', by_worker, '-t', '5', '--json')
        assert revoked.returncode == 0, revoked.stderr
    finally:
        first.stop()
    # No worker is up: only the store can carry this one.
    app.control.revoke(by_client)
    second = DurableWorker(broker_url, unique, 'second')
    try:
        second.wait_ready()
        for task_id in (by_client, by_worker):
            result = app.tasks['ctl.add'].apply_async((1, 2), task_id=task_id)
            with pytest.raises(TaskRevokedError):
                result.get(timeout=20)
        assert app.tasks['ctl.add'].delay(2, 2).get(timeout=20) == 4
        inspect = app.control.inspect(timeout=5, limit=1)
        assert {by_client, by_worker} <= set(next(iter(inspect.revoked().values())))
        sources = next(iter(inspect._request('revoked_sources').values()))
        assert sources[by_client] == sources[by_worker] == 'revokes_backend'
        # The command line shows the source of each revoke.
        shown = _cli(broker_url, unique, 'inspect', 'revoked', '-t', '5', '--json')
        assert shown.returncode == 0, shown.stderr
        by_node = json.loads(shown.stdout)
        assert next(iter(by_node.values()))[by_client] == 'revokes_backend'
    finally:
        second.stop()
        app.close()

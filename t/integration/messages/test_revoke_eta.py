"""Outcomes a real worker stores: revoked ETA tasks (REVOKED at once), rejected tasks."""
from __future__ import annotations

import subprocess
import sys

import pytest

from celery import states
from t.conftest import AMQP_URL, REDIS_URL
from t.integration.control.cluster import (
    HERE, WorkerProcess, environment, load_app, new_unique, wait_for,
)

#: Far enough ahead that the task never comes due during the test.
COUNTDOWN = 600


class OneWorker:
    """One ``celery worker`` process and a client app with the same names."""

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self.unique = new_unique()
        self.module = load_app(broker, self.unique)
        self.app = self.module.app
        self.worker = WorkerProcess(broker, self.unique, 'eta', pool='solo', concurrency=1)

    def scheduled_ids(self) -> set[str]:
        replies = self.app.control.inspect(timeout=3.0, limit=1).scheduled() or {}
        return {entry['request']['id'] for entries in replies.values() for entry in entries}

    def send_eta_task(self):
        result = self.module.add.apply_async((1, 2), countdown=COUNTDOWN)
        assert wait_for(lambda: result.id in self.scheduled_ids(), 15), self.worker.output()
        assert result.state == states.PENDING
        return result

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, '-m', 'celery', '-A', 'ctlapp', '--no-color', *args],
            env=environment(self.broker, self.unique), cwd=str(HERE),
            capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        try:
            self.worker.stop()
        finally:
            if self.worker.proc.poll() is None:
                self.worker.proc.kill()
            self.app.close()


@pytest.fixture(scope='module', params=['amqp', 'redis'])
def eta_worker(request: pytest.FixtureRequest):
    node = OneWorker(AMQP_URL if request.param == 'amqp' else REDIS_URL)
    try:
        node.worker.wait_ready()
        assert wait_for(lambda: node.app.control.ping(timeout=0.5), 20)
        yield node
    finally:
        node.stop()


def revoked_now(result) -> bool:
    return wait_for(lambda: result.state == states.REVOKED, 10)


def test_app_control_revoke(eta_worker: OneWorker) -> None:
    result = eta_worker.send_eta_task()
    eta_worker.app.control.revoke(result.id)
    assert revoked_now(result)
    # No longer waiting in the worker's timer.
    assert wait_for(lambda: result.id not in eta_worker.scheduled_ids(), 5)


def test_async_result_revoke(eta_worker: OneWorker) -> None:
    result = eta_worker.send_eta_task()
    result.revoke()
    assert revoked_now(result)


def test_cli_control_revoke(eta_worker: OneWorker) -> None:
    result = eta_worker.send_eta_task()
    done = eta_worker.cli('control', 'revoke', result.id)
    assert done.returncode == 0, done.stderr
    assert revoked_now(result)


def test_other_eta_tasks_stay_scheduled(eta_worker: OneWorker) -> None:
    kept, revoked = eta_worker.send_eta_task(), eta_worker.send_eta_task()
    eta_worker.app.control.revoke(revoked.id)
    assert revoked_now(revoked)
    assert kept.id in eta_worker.scheduled_ids()
    assert kept.state == states.PENDING
    kept.revoke()
    assert revoked_now(kept)


def test_reject_without_requeue_stores_failure(eta_worker: OneWorker) -> None:
    result = eta_worker.module.rejects.delay()
    assert wait_for(lambda: result.state == states.FAILURE, 15), eta_worker.worker.output()
    assert 'no thanks' in repr(result.result)

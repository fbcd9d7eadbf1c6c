"""A running abortable task on a real worker sees the abort and stops."""
from __future__ import annotations

import time

from celery import states
from celery.contrib.abortable import AbortableAsyncResult, AbortableTask
from celery.contrib.testing.app import TestApp
from celery.contrib.testing.worker import start_worker
from t.conftest import REDIS_URL


def wait_for_state(result, state: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while result.state != state:
        assert time.monotonic() < deadline, f'task stayed {result.state}'
        time.sleep(0.02)


def test_running_task_stops_when_aborted(unique: str) -> None:
    app = TestApp(f'abortable-{unique}', config={
        'broker_url': REDIS_URL, 'result_backend': REDIS_URL,
        'task_default_queue': f'abortable-{unique}', 'task_track_started': True,
        'result_expires': 300})

    @app.task(bind=True, base=AbortableTask, shared=False)
    def long_running(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.is_aborted():
                return 'aborted'
            time.sleep(0.02)
        return 'finished'

    with start_worker(app, pool='threads', concurrency=2):
        finishing = long_running.delay(0.1)
        result = long_running.delay(20)
        assert isinstance(result, AbortableAsyncResult)
        wait_for_state(result, states.STARTED)
        started = time.monotonic()
        result.abort()
        assert result.get(timeout=10) == 'aborted'
        assert time.monotonic() - started < 5
        assert finishing.get(timeout=10) == 'finished'
    app.close()

"""Embedded prefork workers: tasks run in children, their logs reach caplog."""
from __future__ import annotations

import logging
import os
import time
import uuid

import pytest

from celery.contrib.testing.app import TestApp, setup_default_app
from celery.contrib.testing.worker import start_worker
from t.conftest import AMQP_URL, REDIS_URL

QUEUE = f'contrib-prefork-{uuid.uuid4().hex[:12]}'

logger = logging.getLogger('t.integration.contrib.prefork')


@pytest.fixture(scope='session')
def celery_config() -> dict:
    return {'broker_url': REDIS_URL, 'result_backend': REDIS_URL,
            'task_default_queue': QUEUE, 'result_expires': 300}


@pytest.fixture(scope='session')
def celery_worker_pool() -> str:
    return 'prefork'


def wait_for_records(caplog: pytest.LogCaptureFixture, name: str, count: int,
                     timeout: float = 5.0) -> list[logging.LogRecord]:
    """Records of logger ``name``; they come from children through a queue."""
    deadline = time.monotonic() + timeout
    while True:
        records = [r for r in caplog.records if r.name == name]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


def test_prefork_children_log_into_caplog(unique: str, caplog: pytest.LogCaptureFixture) -> None:
    app = TestApp(f'prefork-{unique}', config={
        'broker_url': AMQP_URL, 'result_backend': REDIS_URL,
        'task_default_queue': f'prefork-{unique}', 'result_expires': 300})

    @app.task
    def noisy(n: int) -> int:
        logger.warning('child %s says %d', os.getpid(), n)
        try:
            raise ValueError('handled in task')
        except ValueError:
            logger.exception('with traceback')
        return os.getpid()

    caplog.set_level(logging.WARNING, logger=logger.name)
    with setup_default_app(app), start_worker(app, pool='prefork', concurrency=2):
        child_pid = noisy.delay(7).get(timeout=15)
        logged = wait_for_records(caplog, logger.name, count=2)
    app.close()
    assert child_pid != os.getpid()
    assert f'child {child_pid} says 7' in [r.getMessage() for r in logged]
    failure = next(r for r in logged if r.getMessage() == 'with traceback')
    assert 'ValueError: handled in task' in failure.exc_text


def test_prefork_pool_through_the_fixture(celery_app, celery_worker) -> None:
    assert celery_worker.pool_cls.__module__.endswith('.prefork')
    assert celery_app.tasks['celery.ping'].delay().get(timeout=15) == 'pong'


def _pipes() -> int:
    """How many pipes this process has open."""
    count = 0
    for fd in os.listdir('/proc/self/fd'):
        try:
            count += os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:')
        except OSError:
            pass   # the descriptor listdir itself used
    return count


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_an_embedded_worker_started_again_and_again_leaks_no_pipe(unique: str) -> None:
    # The consumer's wake-up pipe is closed at shutdown: a test suite starting
    # a worker per test must not run out of descriptors.
    app = TestApp(f'again-{unique}', config={
        'broker_url': AMQP_URL, 'result_backend': REDIS_URL,
        'task_default_queue': f'again-{unique}', 'result_expires': 300})

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    counts = []
    with setup_default_app(app):
        for _ in range(3):
            with start_worker(app, pool='prefork', concurrency=1, perform_ping_check=False):
                assert add.delay(1, 2).get(timeout=15) == 3
            counts.append(_pipes())
    app.close()
    assert counts[2] == counts[1] == counts[0], counts

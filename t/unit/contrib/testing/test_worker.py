"""start_worker with the in-memory broker: pools, signals, failure messages."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from celery.contrib.testing.app import TestApp, setup_default_app
from celery.contrib.testing.worker import (
    TestWorkController,
    start_worker,
    test_worker_started,
    test_worker_starting,
    test_worker_stopped,
)
from celery.exceptions import ImproperlyConfigured, OperationalError, TimeoutError
from celery.signals import task_prerun


@pytest.fixture
def test_app(unique: str):
    app = TestApp(f'testing-{unique}', config={'task_default_queue': f'q-{unique}'})
    # start_worker makes the app the default one: undo that after the test.
    with setup_default_app(app):
        yield app
    app.close()


@pytest.mark.parametrize('pool', ['solo', 'threads'])
def test_start_worker_runs_tasks_in_this_process(test_app, pool: str) -> None:
    @test_app.task
    def where() -> str:
        return threading.current_thread().name

    with start_worker(test_app, pool=pool) as worker:
        assert isinstance(worker, TestWorkController)
        assert worker.ensure_started(0) is True
        thread_name = where.delay().get(timeout=5)
    assert thread_name != threading.current_thread().name
    assert not any(t.name.endswith(worker.hostname) for t in threading.enumerate())


def test_worker_signals_are_sent_in_order(test_app) -> None:
    seen: list[tuple[str, Any]] = []

    def on_starting(sender: Any, **kwargs: Any) -> None:
        seen.append(('starting', sender))

    def on_started(sender: Any, worker: Any, consumer: Any, **kwargs: Any) -> None:
        seen.append(('started', worker))

    def on_stopped(sender: Any, worker: Any, **kwargs: Any) -> None:
        seen.append(('stopped', worker))

    test_worker_starting.connect(on_starting, sender=test_app)
    test_worker_started.connect(on_started, sender=test_app)
    test_worker_stopped.connect(on_stopped, sender=test_app)
    try:
        with start_worker(test_app, perform_ping_check=False) as worker:
            pass
    finally:
        test_worker_starting.disconnect(on_starting, sender=test_app)
        test_worker_started.disconnect(on_started, sender=test_app)
        test_worker_stopped.disconnect(on_stopped, sender=test_app)
    assert seen == [('starting', test_app), ('started', worker), ('stopped', worker)]


def test_worker_parameters_reach_the_worker(test_app, unique: str) -> None:
    other = f'other-{unique}'
    test_app.conf.task_create_missing_queues = True

    @test_app.task
    def hello() -> str:
        return 'hi'

    with start_worker(test_app, queues=[other], hostname=f'w1@{unique}') as worker:
        assert worker.hostname == f'w1@{unique}'
        assert hello.apply_async(queue=other).get(timeout=5) == 'hi'


def test_task_logs_reach_caplog(test_app, caplog: pytest.LogCaptureFixture) -> None:
    @test_app.task
    def noisy() -> None:
        logging.getLogger('proj.noisy').warning('hello from the task')

    with caplog.at_level(logging.WARNING, logger='proj.noisy'), start_worker(test_app):
        noisy.delay().get(timeout=5)
    assert 'hello from the task' in caplog.messages


def test_failing_ping_check_names_the_worker_and_queue(test_app, unique: str) -> None:
    def slow_ping(sender: Any = None, **kwargs: Any) -> None:
        if sender is not None and sender.name == 'celery.ping':
            time.sleep(0.6)

    task_prerun.connect(slow_ping, weak=False)
    try:
        with pytest.raises(TimeoutError) as excinfo, start_worker(
                test_app, ping_task_timeout=0.1, hostname=f'slow@{unique}'):
            pass
    finally:
        task_prerun.disconnect(slow_ping)
    message = str(excinfo.value)
    assert f'slow@{unique}' in message
    assert 'celery.ping' in message
    assert f'q-{unique}' in message


def test_prefork_with_in_memory_backend_is_refused_up_front(test_app) -> None:
    with pytest.raises(ImproperlyConfigured, match='shared'), start_worker(test_app, pool='prefork'):
        pass


def test_missing_ping_task_is_explained() -> None:
    from celery import Celery
    app = Celery('no-ping', set_as_current=False, broker='memory://',
                 backend='cache+memory://', tasks={})
    app.tasks.pop('celery.ping', None)
    with setup_default_app(app), pytest.raises(ImproperlyConfigured, match='celery.ping'), \
            start_worker(app):
        pass


def test_unreachable_broker_fails_fast_with_the_url(unique: str) -> None:
    app = TestApp(f'nobroker-{unique}', broker='amqp://guest:guest@127.0.0.1:1//')
    started = time.monotonic()
    with setup_default_app(app), pytest.raises(OperationalError, match='127.0.0.1:1'), \
            start_worker(app):
        pass
    assert time.monotonic() - started < 10


def test_shutdown_is_quick(test_app) -> None:
    with start_worker(test_app):
        started = time.monotonic()
    assert time.monotonic() - started < 2

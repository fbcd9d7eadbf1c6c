"""Soft shutdown: running tasks get a last chance before the cold shutdown."""
from __future__ import annotations

import logging
import socket
from types import SimpleNamespace

import pytest

from celery.worker import state
from celery.worker.soft_shutdown import running_tasks, wait_for_running_tasks
from celery.worker.worker import WorkController

HOST = 'soft@test'


class Req:
    hostname = HOST

    def __init__(self, id_: str) -> None:
        self.id, self.name = id_, 't'


class Connection:
    """Finishes the running task on the n-th read."""

    def __init__(self, finish_after: int | None, req: Req | None) -> None:
        self.reads = 0
        self.finish_after, self.req = finish_after, req

    def drain_events(self, timeout):
        self.reads += 1
        if self.reads == self.finish_after:
            state.task_ready(self.req)
        raise socket.timeout()


class TaskConsumer:
    cancelled = False

    def cancel(self):
        self.cancelled = True


def consumer_with(timeout, on_idle=False, finish_after=None, running=True):
    req = Req('a') if running else None
    if req is not None:
        state.task_reserved(req)
    conf = SimpleNamespace(worker_soft_shutdown_timeout=timeout,
                           worker_enable_soft_shutdown_on_idle=on_idle)
    return SimpleNamespace(
        app=SimpleNamespace(conf=conf), hostname=HOST, controller=SimpleNamespace(),
        task_consumer=TaskConsumer(), connection=Connection(finish_after, req),
        connection_errors=(), channel_errors=(), pool=SimpleNamespace(),
        perform_pending_operations=lambda: None, held=req)


@pytest.fixture
def soft_shutdown_log(caplog: pytest.LogCaptureFixture):
    """What the soft-shutdown logger wrote, however earlier tests set up logging.

    A worker built in-process earlier in the same test process may have
    stopped ``celery.*`` loggers from propagating to the root, where caplog
    listens: listen on the module's logger itself.
    """
    logger = logging.getLogger('celery.worker.soft_shutdown')
    logger.addHandler(caplog.handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    yield caplog
    logger.setLevel(previous_level)
    logger.removeHandler(caplog.handler)


@pytest.fixture(autouse=True)
def clean_state():
    state.reset_state()
    yield
    state.reset_state()


def test_without_the_setting_nothing_waits():
    consumer = consumer_with(0.0)
    wait_for_running_tasks(consumer)
    assert not consumer.task_consumer.cancelled and consumer.connection.reads == 0


def test_an_idle_worker_waits_only_when_asked_to():
    idle = consumer_with(0.05, running=False)
    wait_for_running_tasks(idle)
    assert idle.connection.reads == 0
    asked = consumer_with(0.05, on_idle=True, running=False)
    wait_for_running_tasks(asked)
    assert asked.task_consumer.cancelled


def test_waits_until_the_running_task_finishes(soft_shutdown_log):
    caplog = soft_shutdown_log
    consumer = consumer_with(5.0, finish_after=3)
    assert running_tasks(consumer) == 1
    wait_for_running_tasks(consumer)
    assert consumer.task_consumer.cancelled and consumer.connection.reads == 3
    assert 'Initiating Soft Shutdown, terminating in 5.0 seconds' in caplog.text
    assert 'timed out' not in caplog.text


def test_gives_up_at_the_timeout(soft_shutdown_log):
    caplog = soft_shutdown_log
    consumer = consumer_with(0.2)
    wait_for_running_tasks(consumer)
    assert running_tasks(consumer) == 1
    assert 'Soft shutdown timed out' in caplog.text


def test_the_work_controller_method_serves_its_consumer_without_a_hub():
    consumer = consumer_with(5.0, finish_after=2)
    controller = SimpleNamespace(consumer=consumer, hub=None)
    WorkController.wait_for_soft_shutdown(controller)
    assert consumer.connection.reads == 2 and running_tasks(consumer) == 0

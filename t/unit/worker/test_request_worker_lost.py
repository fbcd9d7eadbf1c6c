"""A request whose pool process died: retried, requeued or failed."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from billiard.exceptions import WorkerLostError

from celery.app import worker_lost
from celery.worker import request as request_module
from celery.worker.request import Request


class LostRequest(Request):
    """A request whose message and backend calls are recorded."""

    def __init__(self, **task_options) -> None:
        self.id = 'task-id'
        self.name = 'proj.work'
        options = dict(acks_late=False, reject_on_worker_lost=False,
                       retry_on_worker_lost=False, ignore_result=False,
                       store_errors_even_if_ignored=False)
        options.update(task_options)
        self.calls: list = []
        backend = SimpleNamespace(
            mark_as_failure=lambda *a, **kw: self.calls.append('stored failure'))
        self._task = SimpleNamespace(backend=backend, **options)
        # Dead letters off, as by default.
        self._app = SimpleNamespace(conf=SimpleNamespace(task_dead_letter_queue=None))

    @property
    def _context(self):
        return SimpleNamespace(args=(), kwargs={})

    def acknowledge(self):
        self.calls.append('ack')

    def reject(self, requeue=False):
        self.calls.append(('reject', requeue))

    def send_event(self, type_, **fields):
        self.calls.append(type_)


@pytest.fixture
def retries(monkeypatch):
    sent = SimpleNamespace(excs=[], allowed=True)

    def retry_lost_task(task, request, exc):
        sent.excs.append(exc)
        return sent.allowed
    monkeypatch.setattr(worker_lost, 'retry_lost_task', retry_lost_task)
    monkeypatch.setattr(request_module.state, 'task_ready', lambda request: None)
    return sent


def lost():
    return SimpleNamespace(exception=WorkerLostError('killed'), traceback='tb', exc_info=None)


def test_retried_instead_of_failed(retries):
    request = LostRequest(retry_on_worker_lost=True, acks_late=True)
    request.on_failure(lost())
    assert len(retries.excs) == 1
    assert request.calls == ['ack', 'task-retried']


def test_failed_once_retries_run_out(retries):
    retries.allowed = False
    request = LostRequest(retry_on_worker_lost=True)
    request.on_failure(lost())
    assert request.calls == ['stored failure', 'task-failed']


def test_failed_when_the_option_is_off(retries):
    request = LostRequest()
    request.on_failure(lost())
    assert retries.excs == []
    assert request.calls == ['stored failure', 'task-failed']


def test_reject_on_worker_lost_requeues_instead_of_retrying(retries):
    request = LostRequest(retry_on_worker_lost=True, acks_late=True,
                          reject_on_worker_lost=True)
    request.on_failure(lost())
    assert retries.excs == []
    assert request.calls == [('reject', True)]

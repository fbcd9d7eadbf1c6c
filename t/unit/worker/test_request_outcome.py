"""How a Request takes the pool's report of a finished task."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from billiard.einfo import ExceptionWithTraceback

from celery.worker.request import Request


class Outcome(Request):
    """A request whose side effects are recorded instead of performed."""

    def __init__(self, acks_late: bool = False) -> None:
        self.id = 'task-id'
        self.name = 'proj.add'
        self._task = SimpleNamespace(acks_late=acks_late)
        self.calls: list = []

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        self.calls.append(('on_failure', exc_info, return_ok))

    def acknowledge(self):
        self.calls.append('ack')

    def send_event(self, type_, **fields):
        self.calls.append((type_, fields))


def report(exc: BaseException):
    return SimpleNamespace(exception=exc)


def test_success_is_recorded_acked_when_late_and_reported():
    request = Outcome(acks_late=True)
    assert request.on_success((0, 42, 0.5)) is None
    assert request.calls == ['ack', ('task-succeeded', {'result': 42, 'runtime': 0.5})]


def test_success_with_early_ack_only_reports():
    request = Outcome(acks_late=False)
    request.on_success((0, 'ok', 0.1))
    assert request.calls == [('task-succeeded', {'result': 'ok', 'runtime': 0.1})]


def test_a_task_error_becomes_a_failure():
    request = Outcome()
    einfo = report(ExceptionWithTraceback(ValueError('bad'), 'tb'))
    request.on_success((1, einfo, 0.1))
    assert request.calls == [('on_failure', einfo, True)]


@pytest.mark.parametrize('exc', [SystemExit(3), KeyboardInterrupt()])
@pytest.mark.parametrize('wrapped', [True, False])
def test_exit_requests_from_the_task_reach_the_worker(exc, wrapped):
    request = Outcome()
    carried = ExceptionWithTraceback(exc, 'tb') if wrapped else exc
    with pytest.raises(type(exc)) as raised:
        request.on_success((1, report(carried), 0.1))
    assert raised.value is exc
    assert request.calls == []

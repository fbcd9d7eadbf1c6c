"""Abortable tasks: the abort flag lives in the result backend."""
from __future__ import annotations

import pytest

from celery import states
from celery.contrib.abortable import ABORTED, AbortableAsyncResult, AbortableTask
from celery.result import AsyncResult


@pytest.fixture
def abortable(app):
    @app.task(bind=True, base=AbortableTask, shared=False)
    def checks_abort(self):
        return self.is_aborted()
    return checks_abort


def test_constant():
    assert ABORTED == 'ABORTED'
    assert ABORTED not in states.READY_STATES


def test_async_result_is_abortable(abortable):
    result = abortable.AsyncResult('some-id')
    assert isinstance(result, AbortableAsyncResult)
    assert isinstance(result, AsyncResult)
    assert result.backend is abortable.backend
    assert result.app is abortable.app


def test_abort_stores_aborted_state(abortable, unique):
    # A task id of the test's own: the in-memory result store is shared by
    # every app in the process.
    result = abortable.AsyncResult(f'tid-{unique}')
    assert not result.is_aborted()
    result.abort()
    assert result.is_aborted()
    assert result.state == ABORTED
    assert not result.ready()
    assert AsyncResult(f'tid-{unique}', app=abortable.app).state == ABORTED


def test_task_sees_its_own_abort(abortable, unique):
    assert abortable.apply(task_id=f'running-{unique}').get() is False
    abortable.AsyncResult(f'aborted-{unique}').abort()
    assert abortable.apply(task_id=f'aborted-{unique}').get() is True


def test_is_aborted_for_another_task_id(abortable, unique):
    abortable.AsyncResult(f'other-{unique}').abort()
    assert abortable.is_aborted(task_id=f'other-{unique}')
    assert not abortable.is_aborted(task_id=f'not-aborted-{unique}')


def test_base_class_is_abstract():
    assert AbortableTask.abstract is True

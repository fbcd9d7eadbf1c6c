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


def test_abort_stores_aborted_state(abortable):
    result = abortable.AsyncResult('tid-1')
    assert not result.is_aborted()
    result.abort()
    assert result.is_aborted()
    assert result.state == ABORTED
    assert not result.ready()
    assert AsyncResult('tid-1', app=abortable.app).state == ABORTED


def test_task_sees_its_own_abort(abortable):
    assert abortable.apply(task_id='tid-2').get() is False
    abortable.AsyncResult('tid-3').abort()
    assert abortable.apply(task_id='tid-3').get() is True


def test_is_aborted_for_another_task_id(abortable):
    abortable.AsyncResult('other').abort()
    assert abortable.is_aborted(task_id='other')
    assert not abortable.is_aborted(task_id='not-aborted')


def test_base_class_is_abstract():
    assert AbortableTask.abstract is True

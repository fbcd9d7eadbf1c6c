"""Signatures shared with Celery: ``TaskDocumenter.format_args()``, ``AbortableTask.AsyncResult(task_id)``."""
from __future__ import annotations

import inspect

from celery.contrib.abortable import AbortableAsyncResult, AbortableTask


def test_abortable_async_result_takes_only_the_id(app):
    @app.task(base=AbortableTask, bind=True, shared=False)
    def long_job(self):
        return 1
    result = long_job.AsyncResult('an-id')
    assert isinstance(result, AbortableAsyncResult)
    assert result.id == 'an-id' and result.backend is long_job.backend
    assert list(inspect.signature(AbortableTask.AsyncResult).parameters) == ['self', 'task_id']


def test_format_args_takes_no_arguments():
    import pytest
    pytest.importorskip('sphinx')
    from celery.contrib.sphinx import TaskDocumenter
    assert list(inspect.signature(TaskDocumenter.format_args).parameters) == ['self']

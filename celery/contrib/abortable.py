"""Tasks that can be asked to stop: a cooperative abort flag kept in the result backend.

The caller runs ``result.abort()``; the task, which must check
``self.is_aborted()`` now and then, decides how to wind down.  A result
backend is required (the flag is the task's state, ``ABORTED``).

Example::

    from celery.contrib.abortable import AbortableTask

    @app.task(bind=True, base=AbortableTask)
    def long_task(self):
        for chunk in work():
            if self.is_aborted():
                return 'aborted'
            process(chunk)
"""
from __future__ import annotations

from typing import Any

from celery.app.task import Task
from celery.result import AsyncResult

__all__ = ('ABORTED', 'AbortableAsyncResult', 'AbortableTask')

#: State stored in the result backend when a task is asked to abort.
ABORTED = 'ABORTED'


class AbortableAsyncResult(AsyncResult):
    """A result whose task can be asked to abort."""

    def is_aborted(self) -> bool:
        """Whether the task has been asked to abort."""
        return self.state == ABORTED

    def abort(self) -> object:
        """Ask the task to abort: store state ``ABORTED`` in the backend.

        The task only stops when it next checks :meth:`AbortableTask.is_aborted`.
        """
        return self.backend.store_result(self.id, result=None, state=ABORTED, traceback=None)


class AbortableTask(Task):
    """A task that can check whether its caller asked it to abort."""

    abstract = True

    def AsyncResult(self, task_id: str) -> AbortableAsyncResult:  # type: ignore[override]
        """Return an :class:`AbortableAsyncResult` for ``task_id``."""
        return AbortableAsyncResult(task_id, backend=self.backend, task_name=self.name,
                                    app=self._get_app())

    def is_aborted(self, **kwargs: Any) -> bool:
        """Whether this task (or ``task_id=``) was asked to abort; queries the backend."""
        task_id = kwargs.get('task_id', self.request.id)
        return self.AsyncResult(task_id).is_aborted()

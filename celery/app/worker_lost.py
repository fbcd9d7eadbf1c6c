"""Retrying a task whose worker process was lost (:setting:`task_retry_on_worker_lost`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import signals
from celery.exceptions import MaxRetriesExceededError, Retry
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.app.task import Task

__all__ = ('retry_lost_task',)

logger = get_logger(__name__)


def retry_lost_task(task: Task[..., Any], request: object, exc: BaseException) -> bool:
    """Send the next attempt of ``request`` after its process died with ``exc``.

    ``request`` is the worker's request (or its fields as a dict).
    Called by the worker for tasks with ``retry_on_worker_lost`` set: the
    attempt is re-sent as :meth:`Task.retry` would (``max_retries`` and
    ``default_retry_delay`` apply) and the RETRY state is stored.  Returns
    False when the task may not be retried (no more retries left), so the
    caller records the failure as usual.
    """
    if not task.retry_on_worker_lost:
        return False
    fields = request if isinstance(request, dict) else vars(request)
    # retry() re-sends the current request: make the lost one current, as
    # delivered by a broker (neither a direct nor an eager call).
    task.push_request(fields, called_directly=False, is_eager=False)
    try:
        context = task.request
        retry = task.retry(exc=exc, throw=False)
    except (MaxRetriesExceededError, type(exc)):
        return False
    finally:
        task.pop_request()
    _record_retry(task, context, retry, exc)
    return True


def _record_retry(task: Task[..., Any], request: Any, retry: Retry,
                  exc: BaseException) -> None:
    # request: the lost request's Context, whose fields the message set (its id too).
    reason = retry.exc or exc  # (retry() was given exc: it is the same one)
    task.backend.mark_as_retry(request.id, reason, request=request)
    task.on_retry(reason, request.id, request.args, request.kwargs, None)
    signals.task_retry.send(sender=task, request=request, reason=retry, einfo=None)
    logger.warning('Task %s[%s] retry: its worker process was lost (%r)',
                   task.name, request.id, reason)

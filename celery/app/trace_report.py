"""How the tracer reports a task's outcome: log formats, log policies and :class:`TraceInfo`.

:class:`TraceInfo` stores, signals and logs the states other than success
(retry, failure, reject, ignore); the log formats and policies say how each
outcome reads in the worker's log.
"""
from __future__ import annotations

import logging
import sys
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from billiard.einfo import ExceptionInfo, ExceptionWithTraceback

from celery import signals
from celery.exceptions import Ignore, Reject, Retry
from celery.states import RETRY
from celery.utils.log import get_logger
from celery.utils.saferepr import saferepr
from celery.utils.serialization import (
    get_pickleable_etype,
    get_pickleable_exception,
    get_pickled_exception,
)

if TYPE_CHECKING:
    from celery.app.context import Context
    from celery.app.task import Task

__all__ = (
    'TraceInfo', 'get_log_policy', 'get_task_name', 'info', 'log_policy_t',
    'log_policy_reject', 'log_policy_ignore', 'log_policy_internal', 'log_policy_expected',
    'log_policy_unexpected', 'LOG_SUCCESS', 'LOG_FAILURE', 'LOG_INTERNAL_ERROR', 'LOG_IGNORED',
    'LOG_REJECTED', 'LOG_RETRY', 'LOG_RECEIVED',
)

# The tracer's records keep the name they had before this module was split
# out of celery.app.trace: logging configurations filter on it.
logger = get_logger('celery.app.trace')

#: Format strings for the messages logged by the tracer; the record's ``data``
#: attribute carries the same context as a dict.
LOG_SUCCESS = 'Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s'
LOG_FAILURE = 'Task %(name)s[%(id)s] %(description)s: %(exc)s'
LOG_INTERNAL_ERROR = 'Task %(name)s[%(id)s] %(description)s: %(exc)s'
LOG_IGNORED = 'Task %(name)s[%(id)s] %(description)s'
LOG_REJECTED = 'Task %(name)s[%(id)s] %(exc)s'
LOG_RETRY = 'Task %(name)s[%(id)s] retry: %(exc)s'
#: Logged by the worker when a task message arrives.
LOG_RECEIVED = 'Task %(name)s[%(id)s] received'

log_policy_t = namedtuple('log_policy_t',
                          ('format', 'description', 'severity', 'traceback', 'mail'))
log_policy_reject = log_policy_t(LOG_REJECTED, 'rejected', logging.WARNING, 1, 1)
log_policy_ignore = log_policy_t(LOG_IGNORED, 'ignored', logging.INFO, 0, 0)
log_policy_internal = log_policy_t(LOG_INTERNAL_ERROR, 'INTERNAL ERROR', logging.CRITICAL, 1, 1)
log_policy_expected = log_policy_t(LOG_FAILURE, 'raised expected', logging.INFO, 0, 0)
log_policy_unexpected = log_policy_t(LOG_FAILURE, 'raised unexpected', logging.ERROR, 1, 1)


def info(fmt: str, context: Mapping[str, object]) -> None:
    """Log ``fmt % context`` at INFO, with the context attached as ``data``."""
    logger.info(fmt, context, extra={'data': context})


def get_task_name(request: object, default: str | None) -> str | None:
    """Name shown in logs: the shadow name when the message carries one."""
    name: str | None = getattr(request, 'shadow', None) or default
    return name


def get_log_policy(task: Task[..., Any], einfo: ExceptionInfo, exc: BaseException) -> log_policy_t:
    """Choose how to log an error: internal, rejected, ignored, expected or not."""
    if isinstance(exc, Reject):
        return log_policy_reject
    if isinstance(exc, Ignore):
        return log_policy_ignore
    if einfo.internal:
        return log_policy_internal
    if task.throws and isinstance(exc, task.throws):
        return log_policy_expected
    return log_policy_unexpected


def _stores_errors(task: Task[..., Any], eager: bool) -> bool:
    if task.ignore_result:
        return bool(task.store_errors_even_if_ignored)
    # An eager call stores nothing unless its task asks for eager results.
    return not eager or bool(getattr(task, 'store_eager_result', False))


def _call_of(req: Context) -> tuple[str, Sequence[Any], Mapping[str, Any]]:
    # What the handlers are given.  A traced request always has its id (the
    # worker's and apply()'s set it); args and kwargs default as in a message.
    return (req.id or '', req.args if req.args is not None else (),
            req.kwargs if req.kwargs is not None else {})


def _pickleable(einfo: ExceptionInfo) -> ExceptionInfo:
    einfo.exception = get_pickleable_exception(einfo.exception)
    einfo.type = get_pickleable_etype(einfo.type)
    return einfo


class TraceInfo:
    """The state a traced task ended in and its return value (or exception)."""

    __slots__ = ('state', 'retval')

    def __init__(self, state: str, retval: BaseException | None = None) -> None:
        self.state = state
        self.retval = retval

    def handle_error_state(self, task: Task[..., Any], req: Context, eager: bool = False,
                           call_errbacks: bool = True) -> ExceptionInfo:
        """Store and report the error for a RETRY or FAILURE state."""
        store_errors = _stores_errors(task, eager)
        if self.state == RETRY:
            return self.handle_retry(task, req, store_errors=store_errors)
        return self.handle_failure(task, req, store_errors=store_errors,
                                   call_errbacks=call_errbacks)

    def handle_reject(self, task: Task[..., Any], req: Context, **kwargs: object) -> None:
        """Log a :exc:`~celery.exceptions.Reject`; one that drops the message stores FAILURE."""
        einfo = ExceptionInfo()
        self._log_error(task, req, einfo)
        reject = self.retval
        if reject is not None and not getattr(reject, 'requeue', True):
            # The message is gone for good: without this the result would stay PENDING.
            task.backend.mark_as_failure(
                _call_of(req)[0], reject, einfo.traceback, request=req, call_errbacks=False,
                store_result=_stores_errors(task, bool(req.is_eager)))

    def handle_ignore(self, task: Task[..., Any], req: Context, **kwargs: object) -> None:
        """Log an :exc:`~celery.exceptions.Ignore` raised by the task."""
        self._log_error(task, req, ExceptionInfo())

    def handle_retry(self, task: Task[..., Any], req: Context, store_errors: bool = True,
                     **kwargs: object) -> ExceptionInfo:
        """Store the RETRY state, call ``on_retry`` and send ``task_retry``."""
        type_, _, tb = sys.exc_info()
        try:
            reason = self.retval
            einfo = ExceptionInfo((type_, reason, tb))
            # The Retry carries the exception that caused it (when it was given one).
            exc = reason.exc if isinstance(reason, Retry) else reason
            task_id, call_args, call_kwargs = _call_of(req)
            if store_errors:
                task.backend.mark_as_retry(task_id, exc, einfo.traceback, request=req)
            task.on_retry(exc, task_id, call_args, call_kwargs, einfo)
            signals.task_retry.send(sender=task, request=req, reason=reason, einfo=einfo)
            info(LOG_RETRY, {'id': req.id, 'name': get_task_name(req, task.name),
                             'exc': str(reason)})
            return einfo
        finally:
            del tb

    def handle_failure(self, task: Task[..., Any], req: Context, store_errors: bool = True,
                       call_errbacks: bool = True) -> ExceptionInfo:
        """Store the FAILURE state, call ``on_failure`` and send ``task_failure``."""
        _, _, tb = sys.exc_info()
        try:
            einfo = _pickleable(ExceptionInfo())
            # (A failure's info always holds its exception: the fallback is for the checker.)
            exc = self.retval if self.retval is not None else einfo.exception
            task_id, args, kwargs = _call_of(req)
            task.backend.mark_as_failure(
                task_id, exc, einfo.traceback, request=req,
                store_result=store_errors, call_errbacks=call_errbacks,
            )
            task.on_failure(exc, task_id, args, kwargs, einfo)
            signals.task_failure.send(
                sender=task, task_id=req.id, exception=exc, args=req.args,
                kwargs=req.kwargs, traceback=tb, einfo=einfo,
            )
            self._log_error(task, req, einfo)
            return einfo
        finally:
            del tb

    def _log_error(self, task: Task[..., Any], req: Context, einfo: ExceptionInfo) -> None:
        eobj = einfo.exception = get_pickled_exception(einfo.exception)
        if isinstance(eobj, ExceptionWithTraceback):
            eobj = einfo.exception = eobj.exc
        policy = get_log_policy(task, einfo, eobj)
        context = {
            'hostname': req.hostname,
            'id': req.id,
            'name': get_task_name(req, task.name),
            'exc': saferepr(eobj),
            'traceback': str(einfo.traceback),
            'args': req.get('argsrepr') or saferepr(req.args),
            'kwargs': req.get('kwargsrepr') or saferepr(req.kwargs),
            'description': policy.description,
            'internal': einfo.internal,
        }
        logger.log(policy.severity, policy.format.strip(), context,
                   exc_info=einfo.exc_info if policy.traceback else None,
                   extra={'data': context})

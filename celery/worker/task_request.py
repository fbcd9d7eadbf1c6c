"""The per-task Request subclass the strategy builds: the hot path of a task.

Everything one task type's requests share (its time limits, acks_late,
the pool's apply_async, the tracer) is bound once, here, in closure
variables: the pool and the result callbacks read them for every message.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable
from weakref import ref

from celery.app.trace import fast_trace_task, trace_task_ret
from celery.exceptions import TaskRevokedError
from celery.worker import state
from celery.worker.request_events import request_event as _request_event

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.task import Task
    from celery.concurrency.base import BasePool
    from celery.events.dispatcher import EventDispatcher
    from celery.utils.collections import LimitedSet
    from celery.worker.request import Request

__all__ = ('create_request_cls',)


def create_request_cls(base: type[Request], task: Task, pool: BasePool, hostname: str,
                       eventer: EventDispatcher | None,
                       ref: Callable[[object], Callable[[], object]] = ref,
                       revoked_tasks: LimitedSet = state.revoked,
                       task_ready: Callable[..., None] = state.task_ready,
                       trace: Callable[..., object] | None = None,
                       app: Celery | None = None) -> type[Request]:
    """Return a ``Request`` subclass specialised for one task type (the hot path)."""
    default_time_limit = task.time_limit
    default_soft_time_limit = task.soft_time_limit
    apply_async = pool.apply_async
    acks_late = task.acks_late
    events = eventer and eventer.enabled
    if trace is None:
        trace = fast_trace_task if getattr(app, "use_fast_trace_task", False) else trace_task_ret

    class TaskRequest(base):
        def execute_using_pool(self, pool: BasePool, **kwargs: object) -> object:
            task_id = self.id
            if self.id in revoked_tasks or self._expires or self._already_revoked:
                if self.revoked():
                    raise TaskRevokedError(task_id)
            hard_limit, soft_limit = self.time_limits
            result = apply_async(
                trace,
                args=(self._type, task_id, self._request_dict, self._body,
                      self._content_type, self._content_encoding),
                correlation_id=task_id,
                # The pool reports back through these, in this (the parent) process.
                accept_callback=self.on_accepted,
                callback=self.on_success,
                error_callback=self.on_failure,
                timeout_callback=self.on_timeout,
                # Limits set for this request (remote control), else the task's.
                timeout=hard_limit or default_time_limit,
                soft_timeout=soft_limit or default_soft_time_limit,
            )
            self._apply_result = ref(result) if result is not None else None
            return result

        def on_success(self, failed__retval__runtime: tuple[int, Any, float],
                       **kwargs: object) -> None:
            failed, retval, runtime = failed__retval__runtime
            if failed:
                return base.on_success(self, failed__retval__runtime, **kwargs)
            task_ready(self, successful=True)
            if acks_late:
                self.acknowledge()
            # Metrics observe outcomes through send_event even with events off.
            if events or _request_event.receivers:
                self.send_event('task-succeeded', result=retval, runtime=runtime)
            return None

    return TaskRequest

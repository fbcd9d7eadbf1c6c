"""Revoking, terminating and cancelling a worker request, for ``Request``.

A request learns it was revoked (by id, by stamp or by expiry) when it is
about to run or when remote control asks; it is then reported REVOKED once:
``task-revoked`` event, backend state, ``task_revoked`` signal, ack.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from kombu.utils.encoding import safe_repr

from celery import signals
from celery.exceptions import WorkerLostError
from celery.platforms import signals as _signals
from celery.utils.log import get_logger
from celery.worker import state
from celery.worker.request_headers import RequestHeaderFields

if TYPE_CHECKING:
    from collections.abc import Callable

    from celery.app.context import Context
    from celery.app.task import Task
    from celery.concurrency.base import BasePool
    from celery.worker.request import Request

__all__ = ('RequestRevocation',)

# Records keep the name they had before this module was split out of
# celery.worker.request: logging configurations filter on it.
logger = get_logger('celery.worker.request')


class RequestRevocation(RequestHeaderFields):
    """Request methods that revoke, terminate or cancel the task and report it."""

    # Request's attributes other than its slots (id, name) live in a __dict__:
    # subclasses and plugins add their own.
    __slots__ = ('__dict__', '__weakref__')

    id: str
    name: str
    _task: Task
    _expires: datetime | None
    acknowledged: bool
    time_start: float | None
    worker_pid: int | None
    _apply_result: Callable[[], object] | None
    _already_revoked = False
    _already_cancelled = False
    #: Set by :meth:`terminate` before the task started: done once the pool accepts it.
    _terminate_on_ack: tuple[BasePool, int] | None = None

    if TYPE_CHECKING:
        # Defined by Request.
        @property
        def store_errors(self) -> bool: ...
        @property
        def _context(self) -> Context: ...
        def humaninfo(self) -> str: ...
        def acknowledge(self) -> None: ...
        def send_event(self, type: str, **fields: Any) -> None: ...  # noqa: A002 - event type

    def maybe_expire(self) -> bool:
        """Revoke the request when its expiry time has passed."""
        if self._expires and datetime.now(timezone.utc) > self._expires:
            state.revoked.add(self.id)
            return True
        return False

    def terminate(self, pool: BasePool, signal: str | int | None = None) -> None:
        """Terminate the process running this task (or mark it to be on start)."""
        signum = _signals.signum(signal or 'TERM')
        if self.time_start and self.worker_pid is not None:
            pool.terminate_job(self.worker_pid, signum)
            self._announce_revoked('terminated', True, signum, False)
        else:
            self._terminate_on_ack = pool, signum
        if self._apply_result is not None:
            obj = self._apply_result()
            if obj is not None and hasattr(obj, 'terminate'):
                obj.terminate(signum)

    def cancel(self, pool: BasePool | None, signal: str | int | None = None,
               emit_retry: bool = True) -> None:
        """Terminate a running task because the connection was lost; it is redelivered.

        With ``emit_retry`` the task is reported as to be retried (RETRY state,
        ``task-retried``): the redelivered message runs it again.
        """
        signum = _signals.signum(signal or 'TERM')
        self._already_cancelled = True
        if self.time_start and pool is not None and self.worker_pid is not None:
            pool.terminate_job(self.worker_pid, signum)
        if emit_retry:
            self._report_cancel_as_retry()

    def _report_cancel_as_retry(self) -> None:
        exc = WorkerLostError(f'Task {self.humaninfo()} cancelled: the connection to the '
                              'broker was lost; the message will be redelivered.')
        if self.store_errors:
            try:
                self._task.backend.mark_as_retry(self.id, exc, request=self._context)
            except Exception as store_exc:  # noqa: BLE001 - reconnecting matters more
                logger.warning('Could not store RETRY for %s: %r', self.humaninfo(), store_exc)
        self.send_event('task-retried', exception=safe_repr(exc), traceback=None)

    def requeue_on_termination(self) -> None:
        """Cold shutdown: an unacked ``acks_late`` message goes back to the queue, not FAILURE."""
        if self._task.acks_late and not self.acknowledged:
            self._already_cancelled = True

    def _announce_revoked(self, reason: str, terminated: bool, signum: int | str | None,
                          expired: bool) -> None:
        state.task_ready(cast('Request', self))  # Request is the one class built on this
        self.send_event('task-revoked', terminated=terminated, signum=signum, expired=expired)
        self._task.backend.mark_as_revoked(self.id, reason, request=self._context,
                                           store_result=self.store_errors)
        self.acknowledge()
        self._already_revoked = True
        signals.task_revoked.send(sender=self._task, request=self._context,
                                  terminated=terminated, signum=signum, expired=expired)

    def revoked(self) -> bool:
        """Return True (and report it once) if the task was revoked or expired."""
        if self._already_revoked:
            return True
        expired = bool(self._expires) and self.maybe_expire()
        revoked_by_id = self.id in state.revoked
        revoked_by_header = not revoked_by_id and self._revoked_by_stamp()
        if expired or revoked_by_id or revoked_by_header:
            logger.info('Discarding revoked task: %s[%s]%s', self.name, self.id,
                        ' (expired)' if expired else '')
            self._announce_revoked('expired' if expired else 'revoked', False, None, expired)
            return True
        return False

    def is_revoked(self) -> bool:
        """Whether the task's id or a stamp of it was revoked (nothing is reported)."""
        return self._already_revoked or self.id in state.revoked or self._revoked_by_stamp()

    def _revoked_by_stamp(self) -> bool:
        if not state.revoked_stamps or not self.stamped_headers:
            return False
        for header, value in self.stamps.items():
            revoked_values = state.revoked_stamps.get(header)
            if revoked_values is None:
                continue
            values = value if isinstance(value, list) else [value]
            wanted = revoked_values if isinstance(revoked_values, (list, set, tuple)) \
                else [revoked_values]
            if any(v in wanted for v in values):
                return True
        return False

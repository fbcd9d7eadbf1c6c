"""Jobs applied from the event loop: billiard's ``ApplyResult`` without the Event.

Extends billiard's ``ApplyResult`` (setting the fields its ``__init__``
sets), for :class:`~celery.concurrency.hubpool.HubPool` only: the default
pool's jobs are :class:`celery.concurrency.procjob.Job`.

billiard builds a :class:`threading.Event` (a lock and a condition) for every
job so that callers can wait for it, and sets it when the result arrives.
Jobs the worker applies from its event loop are never waited on: a
:class:`JobDone` flag builds the Event only for a waiter.
"""
from __future__ import annotations

import threading
from threading import Lock
from typing import Any, Callable

from billiard.pool import ApplyResult, job_counter

__all__ = ('HubJob', 'JobDone')


class JobDone:
    """The done flag of a job: a :class:`threading.Event` built only if someone waits.

    Jobs applied from the event loop are never waited on; building and
    setting an Event (a lock and a condition) for each one is wasted work.
    """

    __slots__ = ('_flag', '_event')

    def __init__(self) -> None:
        self._flag = False
        self._event: threading.Event | None = None

    def is_set(self) -> bool:
        """Whether the job is done."""
        return self._flag

    def set(self) -> None:
        """Mark the job done and wake any waiter."""
        self._flag = True
        if self._event is not None:
            self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job is done or ``timeout`` passes."""
        if self._flag:
            return True
        event = self._event = self._event or threading.Event()
        if self._flag:   # set while the event was being built
            event.set()
        return event.wait(timeout)


class HubJob(ApplyResult):
    """A job applied from the event loop, with a lightweight done flag.

    Sets what billiard's ``ApplyResult.__init__`` sets, except that the done
    flag is a :class:`JobDone`.
    """

    def __init__(self, cache: dict[int, Any], callback: Callable[..., Any] | None,
                 accept_callback: Callable[..., Any] | None,
                 timeout_callback: Callable[..., Any] | None,
                 error_callback: Callable[..., Any] | None, soft_timeout: float | None,
                 timeout: float | None, lost_worker_timeout: float,
                 on_timeout_set: Callable[..., Any], on_timeout_cancel: Callable[..., Any],
                 callbacks_propagate: tuple = (), correlation_id: str | None = None) -> None:
        self.correlation_id = correlation_id
        self._mutex = Lock()
        self._event = JobDone()
        self._job = next(job_counter)
        self._cache = cache
        self._callback = callback
        self._accept_callback = accept_callback
        self._error_callback = error_callback
        self._timeout_callback = timeout_callback
        self._timeout = timeout
        self._soft_timeout = soft_timeout
        self._lost_worker_timeout = lost_worker_timeout
        self._on_timeout_set = on_timeout_set
        self._on_timeout_cancel = on_timeout_cancel
        self._callbacks_propagate = callbacks_propagate or ()
        self._send_ack = None
        self._accepted = False
        self._cancelled = False
        self._worker_pid = None
        self._time_accepted = None
        self._terminated = None
        cache[self._job] = self

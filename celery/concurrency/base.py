"""The interface every execution pool implements, and inline job execution."""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from celery.concurrency.relay import CallbackRelay
from celery.exceptions import WorkerShutdown, WorkerTerminate
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from kombu.asynchronous import Hub

    from celery.app.base import Celery

__all__ = ('BasePool', 'apply_target')

logger = get_logger('celery.pool')


def apply_target(target: Callable[..., Any], args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None,
                 callback: Callable[[Any], Any] | None = None,
                 accept_callback: Callable[[int, float], Any] | None = None,
                 pid: int | None = None, getpid: Callable[[], int] = os.getpid,
                 propagate: tuple[type[BaseException], ...] = (),
                 monotonic: Callable[[], float] = time.monotonic,
                 **_: Any) -> None:
    """Run one job in the current thread: accept, execute, then report the result.

    ``accept_callback(pid, time_accepted)`` is called before the target (the
    worker sends task-started and acks early here), then ``callback(retval)``.
    An exception escaping the target goes to ``error_callback`` as a
    :class:`billiard.einfo.ExceptionInfo` (raised when there is none).
    """
    error_callback = _.get('error_callback')
    if accept_callback:
        accept_callback(pid or getpid(), monotonic())
    try:
        ret = target(*args, **(kwargs or {}))
    except propagate:
        raise
    except (WorkerShutdown, WorkerTerminate):
        raise
    except BaseException:
        if error_callback is None:
            raise
        from billiard.einfo import ExceptionInfo
        error_callback(ExceptionInfo(sys.exc_info()))
    else:
        if callback:
            callback(ret)


class BasePool:
    """An execution pool: runs jobs and reports back through callbacks.

    Pools whose callbacks fire on other threads route them through a
    :class:`~celery.concurrency.relay.CallbackRelay`, so they always run in the
    consumer's thread: the hub thread after :meth:`register_with_event_loop`,
    otherwise whenever the consumer loop calls :meth:`flush_callbacks`.
    """

    RUN = 0x1
    CLOSE = 0x2
    TERMINATE = 0x3

    #: The timer class the worker should use with this pool (``None``: its default).
    Timer: type | None = None

    #: Set to true if the pool can be shutdown from within a signal handler.
    signal_safe = True
    #: Set to true if the pool runs green threads (eventlet/gevent).
    is_green = False
    #: Whether the consumer should hold a semaphore slot per job.
    uses_semaphore = False
    #: Whether ``task.get()`` inside a task would block the pool.
    task_join_will_block = True
    #: Whether the raw message body may be passed as a memoryview.
    body_can_be_buffer = False
    #: Whether callbacks fire on threads other than the consumer's.
    callbacks_need_relay = False
    #: Whether the pool forks child processes (it then starts as late as possible).
    forks_children = False
    #: Whether ``callback`` and ``accept_callback`` are always called in the
    #: consumer's thread (results read by its event loop): no relay for them.
    results_in_consumer_thread = False

    _state: int | None = None
    _pool: Any = None
    _does_debug = True

    def __init__(self, limit: int | None = None, putlocks: bool = True,
                 forking_enable: bool = True, callbacks_propagate: tuple[type[BaseException], ...] = (),
                 app: Celery | None = None, **options: Any) -> None:
        self.limit = limit
        self.putlocks = putlocks
        self.options = options
        self.forking_enable = forking_enable
        self.callbacks_propagate = callbacks_propagate
        self.app = app
        self.relay = CallbackRelay()

    def on_start(self) -> None:
        """Hook: start the pool's resources."""

    def did_start_ok(self) -> bool:
        """Return whether the pool started its workers successfully."""
        return True

    def flush(self) -> None:
        """Hook: write out buffered jobs (used at shutdown)."""

    def on_stop(self) -> None:
        """Hook: wait for running jobs and release resources."""

    def register_with_event_loop(self, loop: Hub) -> None:
        """Deliver callbacks in ``loop``'s thread (a :class:`kombu.asynchronous.Hub`)."""
        if self.callbacks_need_relay:
            self.relay.register_with_event_loop(loop)

    def flush_callbacks(self) -> int:
        """Run callbacks queued by pool threads; call from the consumer thread.

        The blocking consumer loop (no hub) calls this between
        ``drain_events`` calls.  Returns how many callbacks ran.
        """
        return self.relay.flush()

    def on_apply(self, *args: Any, **kwargs: Any) -> object:
        """Hook: execute one job."""
        raise NotImplementedError(f'{type(self).__name__} must implement on_apply')

    def on_terminate(self) -> None:
        """Hook: kill running jobs and release resources now."""

    def on_soft_timeout(self, job: object) -> None:
        """Hook: a job exceeded its soft time limit."""

    def on_hard_timeout(self, job: object) -> None:
        """Hook: a job exceeded its hard time limit."""

    def maintain_pool(self, *args: Any, **kwargs: Any) -> None:
        """Replace workers that exited (no-op unless the pool has processes)."""

    def terminate_job(self, pid: int, signal: int | str | None = None) -> None:
        """Kill the job running in worker ``pid``."""
        raise NotImplementedError(
            f'{type(self).__name__} cannot terminate a running job; '
            'revoke with terminate=True needs the prefork, eventlet or gevent pool')

    def restart(self) -> None:
        """Replace every worker process (``pool_restart`` remote control)."""
        raise NotImplementedError(f'{type(self).__name__} does not implement restart')

    def grow(self, n: int = 1) -> None:
        """Add ``n`` workers."""
        raise NotImplementedError(
            f'{type(self).__name__} cannot change its size; use the prefork, eventlet or gevent pool')

    def shrink(self, n: int = 1) -> None:
        """Remove ``n`` idle workers."""
        raise NotImplementedError(
            f'{type(self).__name__} cannot change its size; use the prefork, eventlet or gevent pool')

    def stop(self) -> None:
        """Wait for running jobs to finish, then shut down."""
        self.on_stop()
        self._state = self.TERMINATE
        self.relay.flush()

    def terminate(self) -> None:
        """Shut down now, killing running jobs."""
        self._state = self.TERMINATE
        self.on_terminate()
        self.relay.flush()

    def start(self) -> None:
        """Start the pool."""
        self._does_debug = logger.isEnabledFor(logging.DEBUG)
        self.on_start()
        self._state = self.RUN

    def close(self) -> None:
        """Stop accepting jobs."""
        self._state = self.CLOSE
        self.on_close()

    def on_close(self) -> None:
        """Hook: stop accepting jobs."""

    def apply_async(self, target: Callable[..., Any], args: tuple[Any, ...] | list[Any] | None = None,
                    kwargs: dict[str, Any] | None = None, **options: Any) -> object:
        """Run ``target(*args, **kwargs)`` and report through the callbacks in ``options``.

        ``accept_callback(pid, time_accepted)`` fires when a worker starts the
        job, ``callback(retval)`` on completion, ``error_callback(einfo)`` when
        the job could not complete (worker lost, hard time limit, terminated)
        and ``timeout_callback(soft, timeout)`` when a time limit is hit.
        ``soft_timeout``, ``timeout`` and ``correlation_id`` are passed on to
        :meth:`on_apply` with any other option.
        """
        args = args or ()
        kwargs = kwargs or {}
        if self._does_debug:
            logger.debug('TaskPool: Apply %s (args:%s kwargs:%s)', target, _short(args), _short(kwargs))
        if self.callbacks_need_relay:
            wrap = self.relay.wrap
            if not self.results_in_consumer_thread:
                for name in ('callback', 'accept_callback'):
                    options[name] = wrap(options.get(name))
            for name in ('timeout_callback', 'error_callback'):
                options[name] = wrap(options.get(name))
        for name in _APPLY_OPTIONS:
            options.setdefault(name, None)
        return self.on_apply(target, args, kwargs, waitforslot=self.putlocks,
                             callbacks_propagate=self.callbacks_propagate, **options)

    def _get_info(self) -> dict[str, Any]:
        return {
            'implementation': f'{type(self).__module__}:{type(self).__name__}',
            'max-concurrency': self.limit,
        }

    @property
    def info(self) -> dict[str, Any]:
        """Pool statistics for ``inspect stats``."""
        return self._get_info()

    @property
    def active(self) -> bool:
        """Whether the pool is running."""
        return self._state == self.RUN

    @property
    def num_processes(self) -> int | None:
        """Current number of workers."""
        return self.limit

    @property
    def max_jobs_in_flight(self) -> int:
        """Most jobs to hand over at once: started ones and those queued for a free process."""
        return self.num_processes or 1

    def take_back(self, requests: Iterable[Any]) -> list[Any]:
        """Withdraw the jobs of ``requests`` that no process has started; return their requests."""
        return []


#: Options every :meth:`BasePool.on_apply` receives (``None`` when not given).
_APPLY_OPTIONS = ('callback', 'accept_callback', 'timeout_callback', 'error_callback',
                  'soft_timeout', 'timeout', 'correlation_id')


def _short(obj: Any, limit: int = 256) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + '...'

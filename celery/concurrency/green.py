"""What the eventlet and gevent pools share: greenlets with time limits."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from celery.concurrency.base import BasePool, apply_target
from celery.exceptions import SoftTimeLimitExceeded, Terminated, TimeLimitExceeded

if TYPE_CHECKING:
    from billiard.einfo import ExceptionInfo

__all__ = ('GreenTaskPool',)

#: The green library's green thread (``gevent.Greenlet``, eventlet's ``GreenThread``).
G = TypeVar('G')


class Cancellable(Protocol):
    """A scheduled call that can still be called off."""

    def cancel(self) -> object:
        """Do not make the call (a no-op when it ran already)."""


class GreenTaskPool(BasePool, Generic[G]):
    """Run each job in a greenlet; time limits raise inside the greenlet.

    Subclasses adapt a green library through :meth:`create_pool`,
    :meth:`spawn`, :meth:`kill`, :meth:`call_later` and :meth:`resize`.
    Callbacks run in the consumer's OS thread, so no relay is needed.
    """

    #: How many greenlets may run at once (1000 unless given).
    limit: int
    is_green = True
    signal_safe = False
    task_join_will_block = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = self.limit or 1000
        self.soft_timeout = self.options.get('soft_timeout')
        self.timeout = self.options.get('timeout')
        self._running: dict[int, G] = {}

    def create_pool(self, size: int) -> object:
        """Return the library's greenlet pool of ``size``."""
        raise NotImplementedError

    def spawn(self, fun: Callable[..., object], *args: Any) -> G:
        """Start ``fun(*args)`` in a pooled greenlet (waiting for a free slot)."""
        raise NotImplementedError

    def spawn_n(self, fun: Callable[..., object], *args: Any) -> G:
        """Start ``fun(*args)`` in a greenlet outside the pool (e.g. the pidbox loop)."""
        raise NotImplementedError

    def kill(self, greenlet: G, exc: BaseException) -> None:
        """Raise ``exc`` inside ``greenlet``."""
        raise NotImplementedError

    def call_later(self, seconds: float, fun: Callable[..., object], *args: Any) -> Cancellable:
        """Schedule ``fun(*args)``; the return value has ``cancel()``."""
        raise NotImplementedError

    def current(self) -> G:
        """Return the running greenlet."""
        raise NotImplementedError

    def resize(self, size: int) -> None:
        """Change how many greenlets may run at once."""
        raise NotImplementedError

    def wait_all(self) -> None:
        """Block until every running greenlet finished."""
        raise NotImplementedError

    def on_start(self) -> None:
        """Create the greenlet pool."""
        self._pool = self.create_pool(self.limit)

    def on_apply(self, target: Callable[..., object], args: tuple[Any, ...] | None = None,
                 kwargs: dict[str, Any] | None = None,
                 callback: Callable[[Any], object] | None = None,
                 accept_callback: Callable[[int, float], object] | None = None,
                 timeout: float | None = None,
                 timeout_callback: Callable[..., object] | None = None,
                 apply_target: Callable[..., object] = apply_target,
                 **_: Any) -> G:
        """Run the job in a greenlet; ``apply_target`` is what runs it there.

        ``error_callback`` and ``soft_timeout`` may come as keywords too.
        """
        return self.spawn(self._run_job, target, args or (), kwargs, callback, accept_callback,
                          _.get('error_callback'), timeout_callback,
                          _.get('soft_timeout') or self.soft_timeout, timeout or self.timeout,
                          apply_target)

    def _run_job(self, target: Callable[..., object], args: tuple[Any, ...],
                 kwargs: dict[str, Any] | None,
                 callback: Callable[[Any], object] | None,
                 accept_callback: Callable[[int, float], object] | None,
                 error_callback: Callable[[ExceptionInfo], object] | None,
                 timeout_callback: Callable[..., object] | None,
                 soft_timeout: float | None, timeout: float | None,
                 run: Callable[..., Any] = apply_target) -> None:
        me = self.current()
        job_id = id(me)
        self._running[job_id] = me
        timers = [self.call_later(seconds, self._expire, me, seconds, soft, timeout_callback)
                  for seconds, soft in ((soft_timeout, True), (timeout, False)) if seconds]
        try:
            run(target, args, kwargs, callback, accept_callback, pid=job_id,
                propagate=self.callbacks_propagate, error_callback=error_callback)
        finally:
            for timer in timers:
                timer.cancel()
            self._running.pop(job_id, None)

    def _expire(self, greenlet: G, seconds: float, soft: bool,
                timeout_callback: Callable[..., object] | None) -> None:
        if timeout_callback is not None:
            timeout_callback(soft=soft, timeout=seconds)
        self.kill(greenlet, SoftTimeLimitExceeded(seconds) if soft else TimeLimitExceeded(seconds))

    def terminate_job(self, pid: int, signal: int | str | None = None) -> None:
        """Raise :exc:`~celery.exceptions.Terminated` in the greenlet running job ``pid``."""
        greenlet = self._running.get(pid)
        if greenlet is not None:
            self.kill(greenlet, Terminated(signal))

    def grow(self, n: int = 1) -> None:
        """Allow ``n`` more concurrent greenlets."""
        self.limit += n
        self.resize(self.limit)

    def shrink(self, n: int = 1) -> None:
        """Allow ``n`` fewer concurrent greenlets."""
        self.limit = max(self.limit - n, 1)
        self.resize(self.limit)

    def on_stop(self) -> None:
        """Wait for running jobs."""
        if self._pool is not None:
            self.wait_all()

    def on_terminate(self) -> None:
        """Kill running jobs."""
        for greenlet in list(self._running.values()):
            self.kill(greenlet, Terminated('SIGTERM'))

    def _get_info(self) -> dict[str, Any]:
        info = super()._get_info()
        info.update({'max-concurrency': self.limit, 'running-threads': len(self._running),
                     'free-threads': max(self.limit - len(self._running), 0)})
        return info

    @property
    def num_processes(self) -> int:
        """Concurrency limit (greenlets)."""
        return self.limit

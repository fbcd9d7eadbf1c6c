"""The gevent pool (``-P gevent``): jobs run in gevent greenlets.

The process must be monkey patched first; the ``celery`` command does it
when it sees ``-P gevent`` (:func:`celery.maybe_patch_concurrency`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kombu.asynchronous.timer import Timer as _KombuTimer

from celery.concurrency import base
from celery.concurrency.green import GreenTaskPool
from celery.exceptions import ImproperlyConfigured

try:
    import gevent
    import gevent.pool
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImproperlyConfigured(
        "The gevent pool needs the gevent library: pip install 'celery[gevent]'") from exc

__all__ = ('TaskPool',)

#: Exception class :func:`apply_timeout` uses when none is passed
#: (``None``: :class:`gevent.Timeout`, imported on use).
Timeout: type[gevent.Timeout] | None = None


def apply_target(target: Callable[..., Any], args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None, callback: Callable[..., Any] | None = None,
                 accept_callback: Callable[..., Any] | None = None,
                 getpid: Callable[[], int] | None = None, **_: Any) -> None:
    """Run one job in this greenlet, reporting ``getpid()`` (default: the greenlet's id) as its pid."""
    pid = _.pop('pid', None)
    if getpid is not None:
        pid = getpid()
    base.apply_target(target, args, kwargs, callback, accept_callback,
                      pid=pid or id(gevent.getcurrent()), **_)


def apply_timeout(target: Callable[..., Any], args: tuple[Any, ...] = (),
                  kwargs: dict[str, Any] | None = None, callback: Callable[..., Any] | None = None,
                  accept_callback: Callable[..., Any] | None = None,
                  getpid: Callable[[], int] | None = None, timeout: float | None = None,
                  timeout_callback: Callable[..., object] | None = None,
                  Timeout: type[gevent.Timeout] | None = None,
                  apply_target: Callable[..., object] = apply_target, **rest: Any) -> object:
    """Run one job under a hard ``timeout``; when it expires call ``timeout_callback(False, timeout)``."""
    timeout_cls = Timeout or globals()['Timeout'] or gevent.Timeout
    try:
        with timeout_cls(timeout):
            # The timeout must reach us, not the job's error handling.
            return apply_target(target, args, kwargs, callback, accept_callback, getpid,
                                propagate=(timeout_cls,), **rest)
    except timeout_cls:
        if timeout_callback is not None:
            return timeout_callback(False, timeout)
        raise


class Timer(_KombuTimer):
    """Timer whose entries each wait in a greenlet of their own (no timer thread)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop('on_tick', None)  # the worker's tick hook: greenlets don't tick
        super().__init__(*args, **kwargs)
        self._scheduled: dict[Any, Any] = {}

    def _enter(self, eta: float, priority: int, entry: Any, **kwargs: Any) -> Any:
        from time import monotonic
        greenlet = gevent.spawn_later(max(eta - monotonic(), 0), self._run_entry, entry)
        greenlet.entry = entry
        greenlet.eta = eta
        greenlet.priority = priority
        self._scheduled[greenlet] = entry
        return entry

    def _run_entry(self, entry: Any) -> None:
        self._scheduled.pop(gevent.getcurrent(), None)
        if not entry.canceled:
            self.apply_entry(entry)

    def clear(self) -> None:
        """Cancel every scheduled entry."""
        scheduled, self._scheduled = self._scheduled, {}
        for greenlet in scheduled:
            greenlet.kill(block=False)

    def stop(self) -> None:
        """Cancel every scheduled entry (the worker stops its timer at shutdown)."""
        self.clear()

    def __len__(self) -> int:
        return len(self._scheduled)

    @property
    def queue(self) -> list[Any]:
        """Snapshot of the scheduled ``(eta, priority, entry)`` tuples, soonest first."""
        from kombu.asynchronous.timer import scheduled
        events = [scheduled(g.eta, g.priority, g.entry) for g in list(self._scheduled)]
        return sorted(events, key=lambda event: (event.eta, event.priority))


class TaskPool(GreenTaskPool[gevent.Greenlet]):
    """Green pool backed by :class:`gevent.pool.Pool`."""

    Timer = Timer

    def create_pool(self, size: int) -> gevent.pool.Pool:
        """Return a gevent greenlet pool."""
        return gevent.pool.Pool(size)

    def spawn(self, fun: Callable[..., object], *args: Any) -> gevent.Greenlet:
        """Start a greenlet, waiting for a free slot."""
        return self._pool.spawn(fun, *args)

    def spawn_n(self, fun: Callable[..., object], *args: Any) -> gevent.Greenlet:
        """Start a greenlet that doesn't take a pool slot."""
        return gevent.spawn(fun, *args)

    def kill(self, greenlet: gevent.Greenlet, exc: BaseException) -> None:
        """Raise ``exc`` in ``greenlet`` without waiting for it."""
        greenlet.kill(exc, block=False)

    def call_later(self, seconds: float, fun: Callable[..., object], *args: Any) -> _Later:
        """Schedule ``fun`` on gevent's loop."""
        return _Later(gevent.spawn_later(seconds, fun, *args))

    def current(self) -> gevent.Greenlet:
        """Return the running greenlet."""
        return gevent.getcurrent()

    def resize(self, size: int) -> None:
        """Change the pool size."""
        delta = size - self._pool.size
        self._pool._semaphore.counter += delta
        self._pool.size = size

    def wait_all(self) -> None:
        """Wait for every greenlet."""
        self._pool.join()


class _Later:
    """A scheduled greenlet that can be cancelled."""

    def __init__(self, greenlet: gevent.Greenlet) -> None:
        self.greenlet = greenlet

    def cancel(self) -> None:
        """Stop the greenlet if it has not run yet."""
        self.greenlet.kill(block=False)

"""The gevent pool (``-P gevent``): jobs run in gevent greenlets.

The process must be monkey patched first; the ``celery`` command does it
when it sees ``-P gevent`` (:func:`celery.maybe_patch_concurrency`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery.concurrency.green import GreenTaskPool
from celery.exceptions import ImproperlyConfigured

try:
    import gevent
    import gevent.pool
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImproperlyConfigured(
        "The gevent pool needs the gevent library: pip install 'celery[gevent]'") from exc

__all__ = ('TaskPool',)


class TaskPool(GreenTaskPool):
    """Green pool backed by :class:`gevent.pool.Pool`."""

    def create_pool(self, size: int) -> gevent.pool.Pool:
        """Return a gevent greenlet pool."""
        return gevent.pool.Pool(size)

    def spawn(self, fun: Callable[..., Any], *args: Any) -> Any:
        """Start a greenlet, waiting for a free slot."""
        return self._pool.spawn(fun, *args)

    def spawn_n(self, fun: Callable[..., Any], *args: Any) -> Any:
        """Start a greenlet that doesn't take a pool slot."""
        return gevent.spawn(fun, *args)

    def kill(self, greenlet: Any, exc: BaseException) -> None:
        """Raise ``exc`` in ``greenlet`` without waiting for it."""
        greenlet.kill(exc, block=False)

    def call_later(self, seconds: float, fun: Callable[..., Any], *args: Any) -> Any:
        """Schedule ``fun`` on gevent's loop."""
        return _Later(gevent.spawn_later(seconds, fun, *args))

    def current(self) -> Any:
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

    def __init__(self, greenlet: Any) -> None:
        self.greenlet = greenlet

    def cancel(self) -> None:
        """Stop the greenlet if it has not run yet."""
        self.greenlet.kill(block=False)

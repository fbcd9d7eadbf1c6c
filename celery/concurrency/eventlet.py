"""The eventlet pool (``-P eventlet``): jobs run in eventlet green threads.

The process must be monkey patched first; the ``celery`` command does it
when it sees ``-P eventlet`` (:func:`celery.maybe_patch_concurrency`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery.concurrency.green import GreenTaskPool
from celery.exceptions import ImproperlyConfigured

try:
    import eventlet
    import eventlet.greenpool
    import eventlet.greenthread
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImproperlyConfigured(
        "The eventlet pool needs the eventlet library: pip install 'celery[eventlet]'") from exc

__all__ = ('TaskPool',)


class TaskPool(GreenTaskPool[eventlet.greenthread.GreenThread]):
    """Green pool backed by :class:`eventlet.greenpool.GreenPool`."""

    def create_pool(self, size: int) -> eventlet.greenpool.GreenPool:
        """Return an eventlet green pool."""
        return eventlet.greenpool.GreenPool(size)

    def spawn(self, fun: Callable[..., object], *args: Any) -> eventlet.greenthread.GreenThread:
        """Start a green thread, waiting for a free slot."""
        return self._pool.spawn(fun, *args)

    def spawn_n(self, fun: Callable[..., object], *args: Any) -> eventlet.greenthread.GreenThread:
        """Start a green thread that doesn't take a pool slot."""
        return eventlet.spawn(fun, *args)

    def kill(self, greenlet: eventlet.greenthread.GreenThread, exc: BaseException) -> None:
        """Raise ``exc`` in ``greenlet``."""
        eventlet.greenthread.kill(greenlet, exc)

    def call_later(self, seconds: float, fun: Callable[..., object],
                   *args: Any) -> eventlet.greenthread.GreenThread:
        """Schedule ``fun`` on eventlet's hub."""
        return eventlet.greenthread.spawn_after(seconds, fun, *args)

    def current(self) -> eventlet.greenthread.GreenThread:
        """Return the running green thread."""
        return eventlet.greenthread.getcurrent()

    def resize(self, size: int) -> None:
        """Change the pool size."""
        self._pool.resize(size)

    def wait_all(self) -> None:
        """Wait for every green thread."""
        self._pool.waitall()

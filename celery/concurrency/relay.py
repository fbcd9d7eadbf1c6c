"""Hand pool callbacks from helper threads to the consumer's thread.

kombu channels are not thread-safe, so acks and result handling triggered
by a pool (``accept_callback``, ``callback``...) must run in the thread that
owns the broker connection.  Callbacks fired on that thread run at once;
callbacks fired anywhere else are queued and the consumer is woken through a
self-pipe registered with its :class:`kombu.asynchronous.Hub` (or, without a
hub, picked up when the consumer loop calls :meth:`CallbackRelay.flush`).
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from functools import partial
from threading import get_ident
from typing import TYPE_CHECKING, Any

from celery.utils.log import get_logger

if TYPE_CHECKING:
    from kombu.asynchronous import Hub

__all__ = ('CallbackRelay',)

logger = get_logger(__name__)


class CallbackRelay:
    """Run callbacks in the consumer thread, batching cross-thread wake-ups."""

    def __init__(self) -> None:
        self._pending: deque[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        #: Thread that may run callbacks directly (the hub's thread).
        self.owner: int | None = None
        self.hub: Any = None
        self._wake_r: int | None = None
        self._wake_w: int | None = None
        # Set while a wake-up byte is in flight, so a burst of callbacks
        # costs one write and one hub wake-up rather than one per callback.
        self._armed = False

    def wrap(self, fun: Callable[..., Any] | None) -> Callable[..., Any] | None:
        """Return ``fun`` routed through the relay (``None`` stays ``None``)."""
        if fun is None:
            return None
        return partial(self.call, fun)

    def call(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``fun`` now if on the owner thread, otherwise queue it for the owner."""
        if get_ident() == self.owner:
            fun(*args, **kwargs)
            return
        self._pending.append((fun, args, kwargs))
        if self._wake_w is not None and not self._armed:
            self._wake()

    def _wake(self) -> None:
        wake_w = self._wake_w
        if wake_w is None:
            return  # closed during shutdown; flush() runs the rest
        self._armed = True
        try:
            os.write(wake_w, b'\x01')
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already
        except OSError:
            self._armed = False  # closed during shutdown; flush() runs the rest

    def register_with_event_loop(self, hub: Hub) -> None:
        """Wake ``hub`` when callbacks are queued and run them in its thread."""
        if self._wake_r is None:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
        self.hub = hub
        self.owner = get_ident()
        hub.add_reader(self._wake_r, self._on_wakeup)
        if self._pending:
            self._wake()

    def _on_wakeup(self, *args: Any) -> None:
        self.owner = get_ident()
        self._armed = False
        if self._wake_r is not None:  # None once closed: a late wake-up only flushes
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
        self.flush()

    def flush(self) -> int:
        """Run every queued callback in this thread; return how many ran."""
        self._armed = False
        pending = self._pending
        ran = 0
        while pending:
            fun, args, kwargs = pending.popleft()
            ran += 1
            try:
                fun(*args, **kwargs)
            except Exception as exc:
                logger.exception('Pool callback %r raised: %r', fun, exc)
        return ran

    def close(self) -> None:
        """Unregister from the hub and close the wake-up pipe."""
        if self._wake_r is None:
            return
        if self.hub is not None:
            try:
                self.hub.remove_reader(self._wake_r)
            except (OSError, ValueError, KeyError):
                pass  # the hub may already be closed at shutdown
        for fd in (self._wake_r, self._wake_w):
            if fd is not None:
                os.close(fd)
        self._wake_r = self._wake_w = None
        self.hub = None
        self.owner = None

    def __len__(self) -> int:
        return len(self._pending)

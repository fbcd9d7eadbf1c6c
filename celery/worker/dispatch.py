"""Fair dispatch: hand a request to the pool only when a process can start it.

billiard queues every job it is given, so a worker that passed all of its
prefetched messages to the pool would, at warm shutdown, have to run every
one of them (or lose them).  The dispatcher keeps the messages that no
process could start yet; they are handed over as processes free up (checked
on every event-loop tick) and given back to the broker on warm shutdown.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from celery.utils.log import get_logger
from celery.worker import state

__all__ = ('FairDispatcher',)

logger = get_logger(__name__)


class FairDispatcher:
    """Apply requests to the pool while fewer than ``limit()`` are in flight."""

    def __init__(self, apply: Callable[[Any], Any], limit: Callable[[], int],
                 reserved: Any = state.reserved_requests) -> None:
        self.apply = apply
        self.limit = limit
        self.reserved = reserved
        self.waiting: deque[Any] = deque()

    def __call__(self, request: Any) -> None:
        """Dispatch a reserved request now, or hold it until a process is free."""
        waiting = self.waiting
        # ``reserved`` counts this request, those in flight and those waiting.
        if waiting or len(self.reserved) - len(waiting) > self.limit():
            waiting.append(request)
            return
        self.apply(request)

    def fill(self) -> None:
        """Hand waiting requests to processes that became free (each loop tick)."""
        waiting = self.waiting
        if not waiting:
            return
        limit, reserved = self.limit(), self.reserved
        while waiting and len(reserved) - len(waiting) < limit:
            self.apply(waiting.popleft())

    def release(self) -> int:
        """Give every waiting message back to the broker (warm shutdown)."""
        count = 0
        while self.waiting:
            request = self.waiting.popleft()
            state.task_ready(request)
            try:
                request.reject(requeue=True)
            except Exception as exc:  # noqa: BLE001 - the broker may be gone: redelivered anyway
                logger.debug('Could not requeue %s: %r', request.humaninfo(), exc)
            count += 1
        if count:
            logger.info('Returned %s reserved task%s to the queue.', count,
                        '' if count == 1 else 's')
        return count

    def clear(self) -> None:
        """Forget waiting requests: their channel is gone, the broker redelivers them."""
        for request in self.waiting:
            state.task_ready(request)
        self.waiting.clear()

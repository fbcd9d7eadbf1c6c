"""Fair dispatch: hand a request to the pool only when a process can soon start it.

billiard queues every job it is given, so a worker that passed all of its
prefetched messages to the pool would, at warm shutdown, have to run every
one of them (or lose them).  The dispatcher hands over at most
``pool.max_jobs_in_flight`` jobs (prefork: one running and three queued per
child) and keeps the other messages; they are handed over as processes free
up (checked on every event-loop tick).  At warm shutdown the jobs no process
started are taken back from the pool and every kept message goes back to the
broker; a revoked job no process started is taken back and reported revoked.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from celery.utils.log import get_logger
from celery.worker import state

if TYPE_CHECKING:
    from weakref import WeakSet

    from celery.worker.request import Request

__all__ = ('FairDispatcher',)

logger = get_logger(__name__)


class FairDispatcher:
    """Apply requests to the pool while fewer than ``limit()`` are in flight."""

    def __init__(self, apply: Callable[[Request], object], limit: Callable[[], int],
                 reserved: WeakSet[Request] = state.reserved_requests,
                 take_back: Callable[[list[Request]], list[Request]] | None = None) -> None:
        self.apply = apply
        self.limit = limit
        self.reserved = reserved
        self.take_back = take_back or _nothing_taken_back
        self.waiting: deque[Request] = deque()

    def __call__(self, request: Request) -> None:
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

    def handed_over_unstarted(self) -> list[Request]:
        """Requests given to the pool that no process has started."""
        waiting, active = set(self.waiting), state.active_requests
        return [r for r in tuple(self.reserved) if r not in waiting and r not in active]

    def withdraw_revoked(self) -> int:
        """Take back revoked jobs that no process started and report them revoked."""
        revoked = [r for r in self.handed_over_unstarted() if r.is_revoked()]
        taken = self.take_back(revoked) if revoked else []
        for request in taken:
            request.revoked()
        return len(taken)

    def withdraw_unstarted(self) -> None:
        """Take back every job no process started: it waits here again."""
        self.waiting.extendleft(reversed(self.take_back(self.handed_over_unstarted())))

    def release(self) -> int:
        """Give every message no process started back to the broker (warm shutdown)."""
        self.withdraw_unstarted()
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
        """Forget the requests no process started: their channel is gone, the broker redelivers them."""
        self.withdraw_unstarted()
        for request in self.waiting:
            state.task_ready(request)
        self.waiting.clear()


def _nothing_taken_back(requests: list[Request]) -> list[Request]:
    return []

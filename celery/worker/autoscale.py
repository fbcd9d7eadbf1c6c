"""Grow and shrink the pool with the load (``--autoscale=max,min``)."""
from __future__ import annotations

import os
import threading
from time import monotonic
from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.utils.log import get_logger
from celery.worker import state
from celery.worker._parents import worker_of
from celery.worker.components import Pool

if TYPE_CHECKING:
    from celery.concurrency.base import BasePool
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.request import Request
    from celery.worker.worker import WorkController

__all__ = ('Autoscaler', 'WorkerComponent')

logger = get_logger(__name__)

#: Seconds after a scale-up during which the pool is not shrunk.
AUTOSCALE_KEEPALIVE = float(os.environ.get('AUTOSCALE_KEEPALIVE', 30))


class WorkerComponent(bootsteps.StartStopStep):
    """The autoscaler step (only with ``--autoscale``)."""

    label = 'Autoscaler'
    conditional = True
    requires = (Pool,)

    def __init__(self, w: WorkController, **kwargs: Any) -> None:
        self.enabled = bool(w.autoscale)
        w.autoscaler = None
        super().__init__(w, **kwargs)

    def create(self, parent: WorkController | Consumer) -> Autoscaler:
        w = worker_of(self, parent)
        scaler: Autoscaler = self.instantiate(
            w.autoscaler_cls, w.pool, w.max_concurrency, w.min_concurrency,
            worker=w, mutex=threading.Lock())
        w.autoscaler = scaler
        return scaler

    def info(self, w: WorkController) -> dict[str, Any]:
        return {'autoscaler': w.autoscaler.info()} if w.autoscaler else {}


class Autoscaler:
    """Background thread resizing the pool once a second."""

    def __init__(self, pool: BasePool, max_concurrency: int, min_concurrency: int = 0,
                 worker: WorkController | None = None, keepalive: float = AUTOSCALE_KEEPALIVE,
                 mutex: threading.Lock | None = None) -> None:
        self.pool = pool
        self.mutex = mutex or threading.Lock()
        self.max_concurrency = max_concurrency
        self.min_concurrency = min_concurrency
        self.keepalive = keepalive
        self._last_scale_up: float | None = None
        self.worker = worker
        self._shutdown = threading.Event()
        # Set by on_task_received: a backlog is scaled for at once, not next second.
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the scaling thread and hear of every task the consumer reserves."""
        consumer = getattr(self.worker, 'consumer', None)
        if consumer is not None and hasattr(consumer, 'on_task_message'):
            consumer.on_task_message.add(self.on_task_received)
        self._thread = threading.Thread(target=self._run, name='Autoscaler', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the scaling thread."""
        self._shutdown.set()
        self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    terminate = stop

    def _run(self) -> None:
        while not self._shutdown.is_set():
            try:
                self.body()
            except Exception as exc:  # noqa: BLE001 - keep scaling after an error
                logger.error('Autoscaler error: %r', exc, exc_info=True)
            self._wakeup.wait(1.0)
            self._wakeup.clear()

    def body(self) -> None:
        """One scaling pass: the thread runs it every second, and at once on a backlog."""
        with self.mutex:
            self.maybe_scale()

    def on_task_received(self, req: Request) -> None:
        """A task was reserved: wake the thread if the backlog outgrows a pool that may grow."""
        processes = self.processes
        if processes < self.max_concurrency and self.qty > processes:
            self._wakeup.set()

    def maybe_scale(self, req: Request | None = None) -> bool:
        """Resize the pool toward the number of reserved requests."""
        if self._maybe_scale(req):
            self.pool.maintain_pool()
            return True
        return False

    def _maybe_scale(self, req: Request | None = None) -> bool:
        change = self._size_change()
        if change > 0:
            self.scale_up(change)
        elif change < 0:
            self.scale_down(-change)
        return change != 0

    def _size_change(self) -> int:
        """Processes to add (positive) or remove (negative) for the current backlog."""
        backlog, running = self.qty, self.processes
        # Growing follows the backlog up to max; shrinking follows it down to min.
        # A pool already between the two targets is left as it is: min itself is
        # only enforced when the bounds change (update).
        missing = min(backlog, self.max_concurrency) - running
        if missing > 0:
            return missing
        surplus = running - max(backlog, self.min_concurrency)
        return -surplus if surplus > 0 else 0

    def update(self, max: int | None = None, min: int | None = None) -> tuple[int, int]:
        """Change the bounds (remote control ``autoscale``)."""
        with self.mutex:
            if max is not None:
                self._set_max(max)
            if min is not None:
                self._set_min(min)
            return self.max_concurrency, self.min_concurrency

    def _set_max(self, new_max: int) -> None:
        excess = self.processes - new_max
        if excess > 0:
            self._shrink(excess)
        # Compared with the old bound, so it must run before the bound changes.
        self._update_consumer_prefetch_count(new_max)
        self.max_concurrency = new_max

    def _set_min(self, new_min: int) -> None:
        shortfall = new_min - self.processes
        if shortfall > 0:
            self._grow(shortfall)
        self.min_concurrency = new_min

    def scale_up(self, n: int) -> None:
        """Add ``n`` processes and restart the keepalive period."""
        self._last_scale_up = monotonic()
        self._grow(n)

    def scale_down(self, n: int) -> None:
        """Remove ``n`` processes, unless the last scale-up is within the keepalive."""
        if self._last_scale_up and monotonic() - self._last_scale_up > self.keepalive:
            self._shrink(n)

    def _grow(self, n: int) -> None:
        logger.info('Scaling up %s processes.', n)
        self.pool.grow(n)

    def _shrink(self, n: int) -> None:
        logger.info('Scaling down %s processes.', n)
        try:
            self.pool.shrink(n)
        except ValueError:
            logger.debug("Autoscaler won't scale down: all processes busy.")
        except Exception as exc:  # noqa: BLE001 - report and keep going
            logger.error('Autoscaler: scale_down: %r', exc, exc_info=True)

    def _update_consumer_prefetch_count(self, new_max: int) -> None:
        consumer = getattr(self.worker, 'consumer', None)
        if consumer is None or consumer.qos is None:
            return
        # Each process slot is worth ``prefetch_multiplier`` prefetched messages.
        change = (new_max - self.max_concurrency) * consumer.prefetch_multiplier
        if change > 0:
            consumer.qos.increment_eventually(change)
        elif change < 0:
            consumer.qos.decrement_eventually(-change)

    def info(self) -> dict[str, Any]:
        """Bounds, current size and backlog (for ``inspect stats``)."""
        return {'max': self.max_concurrency, 'min': self.min_concurrency,
                'current': self.processes, 'qty': self.qty}

    @property
    def qty(self) -> int:
        """The backlog: requests reserved by this worker."""
        hostname = getattr(self.worker, 'hostname', None)
        return len(state.reserved_for(hostname) if hostname else state.reserved_requests)

    @property
    def processes(self) -> int:
        """The pool's current number of processes (0 for a pool without a size)."""
        return self.pool.num_processes or 0

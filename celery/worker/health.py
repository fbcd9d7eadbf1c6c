"""Liveness and readiness of a worker, from state its event loop keeps current.

The probe thread only reads these attributes (single assignments, no locks):
an answer never waits for the loop, even when every pool process is busy.
"""
from __future__ import annotations

from time import monotonic
from typing import Any

__all__ = ('WorkerHealth', 'TICK_INTERVAL')

#: Seconds between the loop's health ticks.
TICK_INTERVAL = 1.0
#: The loop is considered stuck when no tick ran for this long.
STALL_AFTER = 30.0


class WorkerHealth:
    """What ``/healthz`` and ``/readyz`` report, updated from the worker's loop."""

    def __init__(self, stall_after: float = STALL_AFTER) -> None:
        self.stall_after = stall_after
        self.last_tick: float | None = None
        self.loop_lag = 0.0
        self.pool_processes = 0
        self.pool_restarts = 0
        self.connected = False
        self.consuming = False
        self.broker_reconnects = 0
        self._connections = 0
        self._pids: set[int] | None = None
        self._next_tick_due: float | None = None

    # -- written by the worker ------------------------------------------------------

    def tick(self, pool: Any) -> None:
        """One periodic turn of the loop: record lag and the pool's processes."""
        now = monotonic()
        if self._next_tick_due is not None:
            self.loop_lag = max(now - self._next_tick_due, 0.0)
        self._next_tick_due = now + TICK_INTERVAL
        self._observe_pool(pool)
        self.last_tick = now

    def _observe_pool(self, pool: Any) -> None:
        pids = _child_pids(pool)
        if pids is None:
            self.pool_processes = int(getattr(pool, 'num_processes', 0) or 0)
            return
        if self._pids is not None:
            # A pid we have not seen is a replacement (max-tasks-per-child, a crash).
            self.pool_restarts += len(pids - self._pids)
        self._pids = pids
        self.pool_processes = len(pids)

    def on_consuming(self) -> None:
        """The consumer connected and consumes its queues."""
        self._connections += 1
        self.broker_reconnects = self._connections - 1
        self.connected = self.consuming = True

    def on_connection_lost(self) -> None:
        """The consumer stopped (connection lost or shutting down)."""
        self.connected = self.consuming = False

    # -- read by the probe thread ---------------------------------------------------

    def liveness(self) -> tuple[bool, str]:
        """Whether the loop is turning and the pool has live processes."""
        if self.last_tick is None:
            return False, 'event loop not started'
        stalled = monotonic() - self.last_tick
        # While reconnecting the loop does not turn: that is readiness' concern.
        if self.connected and stalled > self.stall_after:
            return False, f'event loop stalled for {stalled:.1f}s'
        if self.pool_processes < 1:
            return False, 'no live pool processes'
        return True, 'ok'

    def readiness(self) -> tuple[bool, str]:
        """Whether the worker is connected to the broker and consuming its queues."""
        if not self.connected:
            return False, 'not connected to the broker'
        if not self.consuming:
            return False, 'not consuming'
        return True, 'ok'


def _child_pids(pool: Any) -> set[int] | None:
    """Pids of a forking pool's live children; None for pools without processes."""
    child_pids = getattr(pool, 'child_pids', None)
    return None if child_pids is None else child_pids()

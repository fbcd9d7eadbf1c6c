"""A process pool with one job socket and one result pipe per child (the prefork default).

Extends: nothing in billiard's pool; children are :class:`billiard.Process`
objects (see :mod:`celery.concurrency.proccore` for why and how).  This
module holds the pool's life cycle: its size (autoscale, ``pool_grow`` and
``pool_shrink``), restarts and shutdown.
"""
from __future__ import annotations

import signal
from time import monotonic

from celery.concurrency.proccore import (
    CLOSE,
    RUN,
    SUPERVISE_INTERVAL,
    TERMINATE,
    PoolCore,
    kill,
)
from celery.concurrency.procjob import Child

__all__ = ('ProcessPool', 'RUN', 'CLOSE', 'TERMINATE')

#: Seconds terminated children get to exit before they are SIGKILLed.
CHILD_EXIT_WAIT = 5.0


class ProcessPool(PoolCore):
    """Run jobs in ``processes`` children, each with a private job socket and result pipe."""

    # -- size and life cycle ----------------------------------------------------------------

    def did_start_ok(self) -> bool:
        """Whether every child is alive."""
        return all(c.process.exitcode is None for c in self.children.values())

    def maintain_pool(self) -> None:
        """Replace children that exited, now."""
        self.supervise()

    def pids(self) -> list[int]:
        """Pids of the children that take jobs."""
        return [c.pid for c in self.children.values() if not c.retiring and not c.gone]

    def live_pids(self) -> list[int]:
        """Pids of every child not yet reaped (retiring ones too)."""
        return [c.pid for c in list(self.children.values()) if not c.gone]

    @property
    def size(self) -> int:
        """Number of children the pool keeps."""
        return self.processes

    @property
    def is_open(self) -> bool:
        """Whether the pool still has children to stop (running or closed)."""
        return self.state != TERMINATE

    @property
    def accepting(self) -> bool:
        """Whether the pool takes new jobs."""
        return self.state == RUN

    def grow(self, n: int = 1) -> None:
        """Add ``n`` children."""
        with self._lock:
            self.processes += n
            self._maintain()
            self._dispatch()

    def shrink(self, n: int = 1) -> None:
        """Retire ``n`` children, idle ones first; each stops after its current job."""
        with self._lock:
            if n >= self.processes:
                raise ValueError(
                    f"Can't shrink the pool by {n}: it has {self.processes} processes "
                    'and must keep at least one')
            self.processes -= n
            for child in sorted(self._active(), key=lambda c: len(c.jobs))[:n]:
                self._retire(child)
            self._dispatch()

    def restart(self) -> None:
        """Replace every child once it finishes its jobs."""
        with self._lock:
            for child in self._active():
                self._retire(child)
            self._maintain()
            self._dispatch()

    def _retire(self, child: Child) -> None:
        # Jobs it has not started go to the other children; it finishes its
        # current job (and any it is reading), then stops.
        child.retiring = True
        unstarted = {id(job) for job in child.jobs if not job.accepted()}
        if unstarted:
            self.waiting.extendleft(reversed(self._take_back_from(child, unstarted)))
        if not child.jobs:
            self._send_stop(child)

    def close(self) -> None:
        """Accept no more jobs."""
        if self.state == RUN:
            self.state = CLOSE

    def join(self) -> None:
        """After :meth:`close`: finish every job, then stop the children."""
        self._stop_reader()
        next_check = monotonic()
        while True:
            with self._lock:
                self._dispatch()
                if not self.waiting:
                    for child in list(self.children.values()):
                        if not child.jobs:
                            child.retiring = True
                            self._send_stop(child)
                if not self.children:
                    break
            self._poll_once(SUPERVISE_INTERVAL)
            if monotonic() >= next_check:
                next_check = monotonic() + SUPERVISE_INTERVAL
                self.supervise()
        self.state = TERMINATE
        self._close_wake()

    def terminate(self) -> None:
        """Stop the children now; the jobs they had started are reported lost."""
        self.state = TERMINATE
        self._stop_reader()
        with self._lock:
            children = list(self.children.values())
            for child in children:
                kill(child.pid, signal.SIGTERM)
            deadline = monotonic() + CHILD_EXIT_WAIT
            for child in children:
                child.process.join(max(deadline - monotonic(), 0.01))
                if child.process.exitcode is None:
                    kill(child.pid, signal.SIGKILL)
            for child in children:
                self._drain(child)
            self.waiting.clear()
        self.stop_reading_results()
        self._close_wake()

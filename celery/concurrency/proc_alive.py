"""Pool processes that never come up are killed (:setting:`worker_proc_alive_timeout`).

A child reports on a pipe once its initializer has run; the pool's
supervisor checks the pipe and SIGKILLs a child still silent after the
timeout, so a child stuck while starting (a hung import, a deadlocked lock
inherited across the fork) is replaced instead of holding a slot forever.
"""
from __future__ import annotations

import os
import signal
import struct
from threading import Lock
from time import monotonic
from typing import TYPE_CHECKING, Protocol

from celery.utils.log import get_logger

if TYPE_CHECKING:
    from billiard.context import BaseContext

__all__ = ('PROC_ALIVE_TIMEOUT', 'AliveWatch', 'report_alive')

logger = get_logger(__name__)

#: Seconds a new pool process has to report that it is up (the default).
PROC_ALIVE_TIMEOUT = 4.0

_PID = struct.Struct('!i')


class PipeEnd(Protocol):
    """The writing end of a (billiard or multiprocessing) pipe."""

    def send_bytes(self, buf: bytes) -> None:
        """Send ``buf`` as one message."""

    def close(self) -> None:
        """Close this end."""


class PoolProcess(Protocol):
    """A pool child as billiard reports it (``pid``, ``exitcode``)."""

    @property
    def pid(self) -> int | None:
        """The child's process id."""

    @property
    def exitcode(self) -> int | None:
        """``None`` while the child runs."""


def report_alive(writer: PipeEnd) -> None:
    """Tell the parent that this child is ready for jobs (called in the child)."""
    # Four bytes are written in one atomic write: children may report at once.
    writer.send_bytes(_PID.pack(os.getpid()))


class AliveWatch:
    """Children of one pool that have not reported being up yet."""

    def __init__(self, context: BaseContext, timeout: float | None = None) -> None:
        self.timeout = PROC_ALIVE_TIMEOUT if timeout is None else float(timeout)
        self._reader, self.writer = context.Pipe(duplex=False)
        self._starting: dict[int, tuple[PoolProcess, float]] = {}
        self._lock = Lock()

    def on_process_up(self, process: PoolProcess) -> None:
        """A child was started (billiard's ``on_process_up``)."""
        if process.pid is None:
            return  # not started after all: nothing can report or be killed
        with self._lock:
            self._starting[process.pid] = (process, monotonic())

    def on_process_down(self, process: PoolProcess) -> None:
        """A child was reaped (billiard's ``on_process_down``)."""
        if process.pid is None:
            return
        with self._lock:
            self._starting.pop(process.pid, None)

    def check(self) -> list[int]:
        """Forget children that came up; SIGKILL those silent past the timeout."""
        with self._lock:
            if self._reader.closed:
                return []
            self._read_reports()
            now = monotonic()
            late = [(pid, process) for pid, (process, since) in self._starting.items()
                    if now - since > self.timeout]
            for pid, _ in late:
                del self._starting[pid]
        return [pid for pid, process in late if self._kill(pid, process)]

    def pending(self) -> list[int]:
        """Pids of children that have not reported yet."""
        with self._lock:
            if not self._reader.closed:
                self._read_reports()
            return sorted(self._starting)

    def close(self) -> None:
        """Close both ends of the pipe (the pool has stopped)."""
        with self._lock:
            self._reader.close()
            self.writer.close()

    def _read_reports(self) -> None:
        while self._reader.poll(0):
            (pid,) = _PID.unpack(self._reader.recv_bytes())
            self._starting.pop(pid, None)

    def _kill(self, pid: int, process: PoolProcess) -> bool:
        # An exited child is billiard's to reap and replace: its pid may be reused.
        if process.exitcode is not None:
            return False
        logger.error('Timed out waiting for UP message from %r (%ss)', process, self.timeout)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

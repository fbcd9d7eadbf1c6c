"""The loop a child of :class:`celery.concurrency.procpool.ProcessPool` runs.

The child reads jobs from its own job socket, writes an accept message to
its accept pipe as it starts a job and the result to its result pipe when
the job ends.  The parent waits on the result pipe only and reads the accept
pipe when it handles a result or on a timer (see :mod:`.proccore`): a short
job wakes the parent once, not twice.  Nothing is shared with its siblings,
so there is no lock a kill could take away.

Extends nothing of billiard: it replaces billiard's ``Worker`` loop, and uses
only billiard's public ``ExceptionInfo`` and exception classes, so errors
reach the worker exactly as billiard's pool reports them.
"""
from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Callable, Iterable
from time import monotonic
from typing import Any

from billiard.einfo import ExceptionInfo
from billiard.exceptions import SoftTimeLimitExceeded

from celery.concurrency.frames import encode, read_datagrams, write_all

__all__ = ('ACCEPTED', 'DONE', 'SOFT_LIMIT_SIGNAL', 'ChildOptions', 'child_main')

#: Message kinds a child writes: ``(ACCEPTED, job, pid, time)`` (on its
#: accept pipe) before a job runs and ``(DONE, job, (ok, value))`` (on its
#: result pipe) after.
ACCEPTED, DONE = 1, 2

#: Signal the parent sends when a job passes its soft time limit.
SOFT_LIMIT_SIGNAL = signal.SIGUSR1

#: Exit code of a child that leaves because a job raised SystemExit.
EX_JOB_EXIT = 1


class ChildOptions:
    """What a child needs besides its two pipes."""

    __slots__ = ('initializer', 'initargs', 'maxtasks', 'max_memory_kib', 'on_exit')

    def __init__(self, initializer: Callable[..., None] | None, initargs: tuple[Any, ...],
                 maxtasks: int | None, max_memory_kib: int | None,
                 on_exit: Callable[[int, int], None] | None) -> None:
        self.initializer = initializer
        self.initargs = initargs
        self.maxtasks = maxtasks
        self.max_memory_kib = max_memory_kib
        self.on_exit = on_exit


class _JobState:
    # Whether the job itself runs: a soft limit or SIGTERM arriving while
    # the child writes to a pipe must not cut the message in half.
    running = False
    terminated: int | None = None


def _on_soft_limit(signum: int, frame: Any) -> None:
    if _JobState.running:
        raise SoftTimeLimitExceeded()


def _on_terminate(signum: int, frame: Any) -> None:
    _JobState.terminated = signum
    if _JobState.running:
        # Unwinds the job so its finally blocks run; the loop then dies by the signal.
        raise SystemExit(-signum)
    _die_by(signum)


def _die_by(signum: int) -> None:
    # Dying by the signal itself lets the parent log "signal 15 (SIGTERM)".
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)


def child_main(job_fd: int, result_fd: int, accept_fd: int, foreign_fds: Iterable[int],
               options: ChildOptions) -> None:
    """Run jobs from ``job_fd`` until EOF, a stop message or a recycling limit."""
    for fd in foreign_fds:
        # The pipes of siblings forked earlier: holding them would hide their EOF.
        try:
            os.close(fd)
        except OSError:
            pass
    _JobState.running, _JobState.terminated = False, None
    if options.initializer is not None:
        options.initializer(*options.initargs)
    signal.signal(SOFT_LIMIT_SIGNAL, _on_soft_limit)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_terminate)
    exitcode = _work(job_fd, result_fd, accept_fd, options)
    if options.on_exit is not None:
        options.on_exit(os.getpid(), exitcode)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exitcode)


def _work(job_fd: int, result_fd: int, accept_fd: int, options: ChildOptions) -> int:
    pid, completed = os.getpid(), 0
    maxtasks, max_memory = options.maxtasks, options.max_memory_kib
    while maxtasks is None or completed < maxtasks:
        ok, job = read_datagrams(job_fd)
        if not ok or job is None:
            return 0
        job_id, func, args, kwargs = job
        write_all(accept_fd, encode((ACCEPTED, job_id, pid, monotonic())))
        leave = False
        try:
            _JobState.running = True
            try:
                value = func(*args, **kwargs)
            finally:
                _JobState.running = False
            result: tuple[bool, Any] = (True, value)
        except BaseException as exc:  # noqa: BLE001 - every failure is the job's result
            if _JobState.terminated is not None:
                _die_by(_JobState.terminated)
            result = (False, ExceptionInfo())
            # The job asked its process to exit: report that, then leave.
            leave = isinstance(exc, (SystemExit, KeyboardInterrupt))
        write_all(result_fd, _encode_result(job_id, result))
        completed += 1
        if leave:
            return EX_JOB_EXIT
        if max_memory and _rss_kib() > max_memory:
            return 0
    return 0


def _encode_result(job_id: int, result: tuple[bool, Any]) -> bytes:
    try:
        return encode((DONE, job_id, result))
    except Exception as exc:  # noqa: BLE001 - an unpicklable return value fails the job
        from billiard.pool import MaybeEncodingError
        try:
            raise MaybeEncodingError(exc, result[1]) from None
        except MaybeEncodingError:
            return encode((DONE, job_id, (False, ExceptionInfo())))


def _rss_kib() -> int:
    # ru_maxrss is in KiB on Linux: the peak, as billiard measures it.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

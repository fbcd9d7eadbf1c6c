"""One job of :class:`celery.concurrency.procpool.ProcessPool` and the child that runs it."""
from __future__ import annotations

import os
import socket
from collections import deque
from collections.abc import Callable
from itertools import count
from typing import Any

from billiard.einfo import ExceptionInfo

from celery.concurrency.frames import DATAGRAM_PAYLOAD, FrameReader

__all__ = ('Job', 'Child', 'failure')

_job_ids = count(1)

#: Bytes read off an accept pipe at a time (an accept message is about 35).
ACCEPTS_READ = 4096


def failure(exc: BaseException) -> ExceptionInfo:
    """Return ``exc`` as the :class:`~billiard.einfo.ExceptionInfo` error callbacks get."""
    try:
        raise exc
    except BaseException:  # noqa: BLE001 - captured for the callback
        return ExceptionInfo()


class Job:
    """A function call handed to the pool, and how its outcome is reported."""

    __slots__ = ('id', 'payload', 'callback', 'error_callback', 'accept_callback',
                 'timeout_callback', 'soft_timeout', 'timeout', 'correlation_id',
                 'worker_pid', 'time_accepted', 'terminated', 'soft_sent', 'done', 'fragmented',
                 '__weakref__')

    def __init__(self, payload: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]],
                 callback: Callable[..., Any] | None,
                 error_callback: Callable[..., Any] | None,
                 accept_callback: Callable[..., Any] | None,
                 timeout_callback: Callable[..., Any] | None,
                 soft_timeout: float | None, timeout: float | None,
                 correlation_id: str | None) -> None:
        self.id = next(_job_ids)
        self.payload = payload
        self.callback = callback
        self.error_callback = error_callback
        self.accept_callback = accept_callback
        self.timeout_callback = timeout_callback
        self.soft_timeout = soft_timeout
        self.timeout = timeout
        self.correlation_id = correlation_id
        self.worker_pid: int | None = None
        self.time_accepted: float | None = None
        #: Signal the job's process was terminated with (reported as Terminated).
        self.terminated: int | None = None
        self.soft_sent = False
        self.done = False
        #: Sent in several datagrams: the parent must not read its child's socket.
        self.fragmented = False

    def ready(self) -> bool:
        """Whether the job has an outcome."""
        return self.done

    def accepted(self) -> bool:
        """Whether a child has started the job."""
        return self.time_accepted is not None

    def worker_pids(self) -> list[int]:
        """The pid of the child running the job, if started."""
        return [self.worker_pid] if self.worker_pid else []

    def terminate(self, signum: int | None) -> None:
        """Report the job as terminated by ``signum`` when its process dies."""
        self.terminated = signum

    def on_accepted(self, pid: int, time_accepted: float) -> None:
        """A child started the job."""
        self.worker_pid, self.time_accepted = pid, time_accepted
        if self.accept_callback is not None:
            self.accept_callback(pid, time_accepted)

    def on_done(self, ok: bool, value: Any) -> None:
        """Report the job's return value (``ok``) or its error, once."""
        if self.done:
            return
        self.done = True
        self.payload = None   # type: ignore[assignment]  # drop the arguments early
        if ok:
            if self.callback is not None:
                self.callback(value)
        elif self.error_callback is not None:
            self.error_callback(value)

    def on_timeout(self, soft: bool, timeout: float) -> None:
        """Tell the caller a time limit passed."""
        if self.timeout_callback is not None:
            self.timeout_callback(soft=soft, timeout=timeout)


class Child:
    """A pool process with its own job socket (written by us), result and accept pipes (read by us).

    The parent keeps the child's end of the job socket open too (``job_peer``),
    to take back datagrams the child has not read.
    """

    __slots__ = ('process', 'pid', 'job_sock', 'job_peer', 'result_fd', 'reader', 'accept_fd',
                 'accepts', 'outbox', 'jobs', 'retiring', 'stop_sent', 'writer_registered',
                 'gone')

    def __init__(self, process: Any, job_sock: socket.socket, job_peer: socket.socket,
                 result_fd: int, accept_fd: int) -> None:
        self.process = process
        self.pid: int = process.pid
        self.job_sock = job_sock
        self.job_peer = job_peer
        self.result_fd = result_fd
        self.reader = FrameReader()
        #: The pipe of the child's accept messages, and their reassembly.
        self.accept_fd = accept_fd
        self.accepts = FrameReader()
        #: Datagrams not yet taken by the socket.
        self.outbox: deque[bytes] = deque()
        #: Jobs written to this child without an outcome yet, oldest first.
        self.jobs: deque[Job] = deque()
        #: No new jobs: the child stops once its jobs are done.
        self.retiring = False
        self.stop_sent = False
        self.writer_registered = False
        self.gone = False

    @property
    def running(self) -> Job | None:
        """The job the child has started, if any."""
        if self.jobs and self.jobs[0].time_accepted is not None:
            return self.jobs[0]
        return None

    def take_back_unread(self, wanted: set[int], stop: bytes) -> list[Job]:
        """Remove the jobs in ``wanted`` (by ``id()``) that the child has not read yet.

        Reads back the datagrams waiting in the child's socket: the kernel
        gives each one whole either to the child or to us.  What is kept goes
        back to the outbox in its order, ``stop`` last.  Jobs sent in pieces
        are never waiting here unread when this is called (see the pool).
        """
        if self.gone or any(job.fragmented and not job.accepted() for job in self.jobs):
            return []
        queued = []
        while True:
            try:
                queued.append(self.job_peer.recv(DATAGRAM_PAYLOAD + 1, socket.MSG_DONTWAIT))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break   # the child is gone: its EOF returns the jobs to the queue
        # Datagrams still in the outbox never reached the socket.
        queued += self.outbox
        self.outbox.clear()
        # The jobs written last are those the child has not read.
        pending = [job for job in self.jobs if not job.accepted()]
        messages = [m for m in queued if m != stop]
        if len(messages) > len(pending):   # cannot happen: leave everything as it was
            self.outbox.extend(queued)
            return []
        taken = []
        for job, message in zip(pending[len(pending) - len(messages):], messages, strict=True):
            if id(job) in wanted:
                taken.append(job)
                self.jobs.remove(job)
            else:
                self.outbox.append(message)
        if stop in queued:
            self.outbox.append(stop)
        return taken

    def fds(self) -> list[int]:
        """The parent's descriptors for this child (a sibling forked later closes them)."""
        return [self.job_sock.fileno(), self.job_peer.fileno(), self.result_fd, self.accept_fd]

    def read_accepts(self) -> list[Any]:
        """The accept messages the child wrote since the last call (without blocking)."""
        messages = []
        while True:
            try:
                data = os.read(self.accept_fd, ACCEPTS_READ)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break   # closed: the child is gone
            if not data:
                break
            messages += self.accepts.feed(data)
            if len(data) < ACCEPTS_READ:
                break
        return messages

    @property
    def starting(self) -> bool:
        """Whether the child may have started a job the parent has not heard of yet."""
        return bool(self.jobs) and self.jobs[0].time_accepted is None

    def __repr__(self) -> str:
        return f'<Child pid={self.pid} jobs={len(self.jobs)}>'

"""The workings of :class:`~celery.concurrency.procpool.ProcessPool`: children, jobs, results.

Extends: nothing in billiard's pool.  Children are :class:`billiard.Process`
objects (the public process class, for its fork handling and after-fork
hooks) created through a billiard context; the pool around them is our own.
billiard's ``Pool`` shares one job queue and one result queue between all
children, each guarded by a lock that a child SIGKILLed while holding it
takes along, after which every other child blocks.  Here each child has a
job socket and a result pipe of its own, with no lock: killing any child at
any moment costs only that child's job.  The parent sees the result pipe
close, reports the job the child had started as lost, gives the jobs it had
not started to another child, and forks a replacement.

The parent keeps jobs no child has been given in a queue of its own and
writes at most :data:`JOBS_AHEAD_PER_CHILD` jobs ahead of the one a child
runs, so a child starts its next job without waiting for the parent, and
results come back in batches.  A job written ahead can still be taken back:
jobs travel as ``SOCK_SEQPACKET`` datagrams, which the kernel hands whole to
one reader, and the parent reads the datagrams its child has not (see
:mod:`celery.concurrency.frames`).  That is also how jobs stuck behind a long
one move to a child that has run out of work (:data:`REBALANCE_AFTER`).

Results are read by the worker's event loop when one is registered
(:meth:`ProcessPool.read_results_in`), otherwise by a helper thread.  A child
reports the start of a job on an accept pipe of its own, which the event
loop does not wait on: it reads it before the results it reads, and on a
timer (:data:`ACCEPT_NOTICE_DELAY`) while a child may have started a job
unheard of.  A job shorter than that wakes the parent once (its result, the
start read with it) instead of twice, which on a busy machine took the CPU
from the job itself; a longer one is known as started that much later.
The helper thread reads the accept pipes as they are written.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import threading
from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence
from itertools import count
from time import monotonic
from typing import TYPE_CHECKING, Any

from billiard.common import human_status
from billiard.exceptions import Terminated, TimeLimitExceeded, WorkerLostError

from celery.concurrency.frames import datagrams
from celery.concurrency.procchild import ACCEPTED, DONE, SOFT_LIMIT_SIGNAL, ChildOptions, child_main
from celery.concurrency.procjob import Child, Job, failure
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from billiard.context import BaseContext
    from kombu.asynchronous import Hub

    from celery.concurrency.proc_alive import AliveWatch

__all__ = ('PoolCore', 'JOBS_AHEAD_PER_CHILD', 'RUN', 'CLOSE', 'TERMINATE', 'STOP',
           'SUPERVISE_INTERVAL', 'kill')

logger = get_logger(__name__)

RUN, CLOSE, TERMINATE = 0, 1, 2

#: Jobs written to a child beyond the one it runs.
JOBS_AHEAD_PER_CHILD = 3
#: Seconds a job may wait behind a running one while another child idles;
#: then the jobs queued behind it move to the idle child.
REBALANCE_AFTER = 0.1
#: Seconds between checks of time limits, stuck starts and missing children.
SUPERVISE_INTERVAL = 0.1
#: Most result bytes read from one child per wake-up.
MAX_READ = 256 * 1024
#: A child that dies younger than this is replaced on the next check, not at
#: once, so a child that cannot start does not fork in a tight loop.
MIN_CHILD_LIFE = 1.0
#: Seconds after which the event loop reads a job's start if its result has
#: not come yet (the latest a running job is acked early, reported started,
#: given its time limits' start).
ACCEPT_NOTICE_DELAY = 0.01

#: The message that stops a child between jobs.
(STOP,) = datagrams(None)


class PoolCore:
    """Children, jobs, results and supervision of a :class:`~.procpool.ProcessPool`."""

    def __init__(self, processes: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple[Any, ...] = (), maxtasksperchild: int | None = None,
                 max_memory_per_child: int | None = None, timeout: float | None = None,
                 soft_timeout: float | None = None, context: BaseContext | None = None,
                 on_process_exit: Callable[[int, int], None] | None = None,
                 alive_watch: AliveWatch | None = None, allow_restart: bool = False,
                 callbacks_propagate: tuple[type[BaseException], ...] = (),
                 **ignored: Any) -> None:
        import billiard
        self.processes = processes
        self.timeout, self.soft_timeout = timeout, soft_timeout
        self.maxtasksperchild = maxtasksperchild
        self.allow_restart = allow_restart
        self.alive_watch = alive_watch
        self.callbacks_propagate = callbacks_propagate
        self.writes: Counter[int] = Counter()
        self.children: dict[int, Child] = {}
        self.waiting: deque[Job] = deque()
        self.state = RUN
        self.hub: Any = None
        self._hub_thread: int | None = None
        self._thread: threading.Thread | None = None
        self._supervisor: Any = None
        self._accept_timer: Any = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._lock = threading.RLock()
        self._context = context or billiard.get_context('fork')
        self._options = ChildOptions(initializer, initargs, maxtasksperchild,
                                     max_memory_per_child, on_process_exit)
        self._names = count(1)
        self._read_buffer = bytearray(MAX_READ)
        self._read_view = memoryview(self._read_buffer)
        self._born: dict[int, float] = {}
        with self._lock:
            for _ in range(processes):
                self._spawn()

    # -- children ---------------------------------------------------------------------

    def _spawn(self) -> Child:
        job_sock, job_peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        result_r, result_w = os.pipe()
        accept_r, accept_w = os.pipe()
        foreign = [self._wake_r, self._wake_w, job_sock.fileno(), result_r, accept_r]
        for other in self.children.values():
            foreign += other.fds()
        process = self._context.Process(
            target=child_main, args=(job_peer.fileno(), result_w, accept_w, foreign,
                                     self._options),
            name=f'ForkPoolWorker-{next(self._names)}', daemon=True)
        # The pool slot this child fills (0..N-1, reused by its replacement), as
        # billiard's pool numbers its processes: current_process().index gives
        # %i/%I in log file names and the child's own log file.
        process.index = self._free_index()
        try:
            process.start()
        finally:
            os.close(result_w)
            os.close(accept_w)
        # Only our end is non-blocking: the child shares the open file of its end.
        job_sock.setblocking(False)
        os.set_blocking(result_r, False)
        os.set_blocking(accept_r, False)
        child = Child(process, job_sock, job_peer, result_r, accept_r)
        self.children[child.pid] = child
        self._born[child.pid] = monotonic()
        if self.alive_watch is not None:
            self.alive_watch.on_process_up(process)
        if self.hub is not None:
            self.hub.add_reader(result_r, self._on_readable, child)
        else:
            self._wake()
        return child

    def _free_index(self) -> int:
        taken = {getattr(child.process, 'index', None)
                 for child in self.children.values() if not child.retiring}
        return next(index for index in count() if index not in taken)

    def _active(self) -> list[Child]:
        return [c for c in self.children.values() if not c.retiring]

    def _maintain(self) -> None:
        if self.state != RUN:
            return
        for _ in range(self.processes - len(self._active())):
            self._spawn()

    def _child_gone(self, child: Child) -> None:
        if child.gone:
            return
        # Which jobs it had started decides which are lost and which run elsewhere.
        self._take_accepts(child)
        child.gone = True
        self._unregister(child)
        child.job_sock.close()
        child.job_peer.close()
        os.close(child.result_fd)
        os.close(child.accept_fd)
        process = child.process
        process.join(1.0)
        if process.exitcode is None:   # closed its pipe but lives on: finish it
            kill(child.pid, signal.SIGKILL)
            process.join()
        exitcode = process.exitcode
        self.children.pop(child.pid, None)
        born = self._born.pop(child.pid, monotonic())
        if self.alive_watch is not None:
            self.alive_watch.on_process_down(process)
        lost = [job for job in child.jobs if not job.done]
        if exitcode and not child.retiring and self.state == RUN:
            logger.error('Process %r pid:%r exited with %r',
                         process.name, child.pid, human_status(exitcode))
        for job in reversed(lost):
            if job.accepted():
                self._fail(job, self._lost_error(job, exitcode))
            else:
                self.waiting.appendleft(job)   # never started: another child runs it
        if exitcode == 0 or monotonic() - born >= MIN_CHILD_LIFE:
            self._maintain()

    @staticmethod
    def _lost_error(job: Job, exitcode: int | None) -> BaseException:
        exc: BaseException
        if job.terminated is not None:
            exc = Terminated(job.terminated)
        else:
            exc = WorkerLostError(
                f'Worker exited prematurely: {human_status(exitcode)} Job: {job.id}.')
        return exc

    def _unregister(self, child: Child) -> None:
        hub = self.hub
        if hub is None:
            return
        try:
            hub.remove_reader(child.result_fd)
            if child.writer_registered:
                hub.remove_writer(child.job_sock.fileno())
        except (OSError, ValueError, KeyError):
            pass   # the hub may be closed at shutdown
        child.writer_registered = False

    # -- jobs ---------------------------------------------------------------------------

    def apply_async(self, func: Callable[..., Any], args: Sequence[Any] = (),
                    kwds: dict[str, Any] | None = None,
                    callback: Callable[..., Any] | None = None,
                    error_callback: Callable[..., Any] | None = None,
                    accept_callback: Callable[..., Any] | None = None,
                    timeout_callback: Callable[..., Any] | None = None,
                    soft_timeout: float | None = None, timeout: float | None = None,
                    correlation_id: str | None = None, **ignored: Any) -> Job | None:
        """Queue ``func(*args, **kwds)`` for the next free child; return its :class:`Job`.

        A closed pool takes no jobs (returns None), as billiard's does: the
        messages of jobs applied during a warm shutdown stay unacknowledged.
        """
        if self.state != RUN:
            return None
        job = Job((func, tuple(args), kwds or {}), callback, error_callback, accept_callback,
                  timeout_callback, soft_timeout or self.soft_timeout,
                  timeout or self.timeout, correlation_id)
        with self._lock:
            self.waiting.append(job)
            self._dispatch()
        return job

    def _dispatch(self) -> None:
        self._dispatch_waiting()
        self._watch_accepts()

    def _dispatch_waiting(self) -> None:
        waiting = self.waiting
        while waiting:
            job = waiting[0]
            if job.done:
                waiting.popleft()
                continue
            child = self._least_busy(1 + JOBS_AHEAD_PER_CHILD)
            if child is None:
                return
            try:
                messages = datagrams((job.id, *job.payload))
            except Exception as exc:  # noqa: BLE001 - an unpicklable job fails alone
                waiting.popleft()
                self._fail(job, exc)
                continue
            if len(messages) > 1:
                # Never written ahead: the parent may not read this child's socket
                # while a job in pieces waits there (it could take half of one).
                child = self._least_busy(1)
                job.fragmented = True
                if child is None:
                    return
            waiting.popleft()
            child.jobs.append(job)
            child.outbox.extend(messages)
            self._flush(child)

    def _least_busy(self, limit: int) -> Child | None:
        best = None
        for child in self.children.values():
            if (not child.retiring and not child.gone and len(child.jobs) < limit
                    and (best is None or len(child.jobs) < len(best.jobs))):
                best = child
        return best

    def _flush(self, child: Child) -> None:
        outbox = child.outbox
        if not outbox or child.gone:
            return
        send = child.job_sock.send
        try:
            while outbox:
                send(outbox[0])
                outbox.popleft()
        except BlockingIOError:
            pass
        except OSError:
            # The child is gone: its EOF returns the jobs to the queue.
            outbox.clear()
            return
        if outbox and self.hub is not None and threading.get_ident() == self._hub_thread:
            if not child.writer_registered:
                child.writer_registered = True
                self.hub.add_writer(child.job_sock.fileno(), self._on_writable, child)
        elif outbox and self.hub is None:
            self._wake()

    def _on_writable(self, child: Child) -> None:
        with self._lock:
            self._flush(child)
            if not child.outbox and child.writer_registered and not child.gone:
                child.writer_registered = False
                self.hub.remove_writer(child.job_sock.fileno())

    def _on_readable(self, child: Child) -> None:
        with self._lock:
            self._read(child)
            self._dispatch()

    def _read(self, child: Child) -> bool:
        """Handle what ``child`` wrote; return False once nothing more is waiting."""
        if child.gone:
            return False
        try:
            # Into a buffer kept for the purpose: a fresh 256 KiB bytes object
            # per read would cost an mmap and munmap each time.
            size = os.readv(child.result_fd, (self._read_buffer,))
        except BlockingIOError:
            return False
        except OSError:
            size = 0
        if not size:
            self._child_gone(child)
            return False
        # The starts first: a job's accept message was written before its result.
        self._take_accepts(child)
        for message in child.reader.feed(self._read_view[:size]):
            self._handle(child, message)
        return True

    def _take_accepts(self, child: Child) -> None:
        """Handle the accept messages ``child`` wrote since they were last read."""
        if not child.gone:
            for message in child.read_accepts():
                self._handle(child, message)

    def _take_all_accepts(self) -> None:
        for child in list(self.children.values()):
            self._take_accepts(child)

    def _watch_accepts(self) -> None:
        # The event loop does not wait on the accept pipes: while a child may
        # have started a job unheard of, a timer reads them.  (Its timers are
        # the loop thread's own: from another thread supervision does it.)
        if (self.hub is None or self._accept_timer is not None
                or threading.get_ident() != self._hub_thread):
            return
        if any(child.starting for child in self.children.values()):
            self._accept_timer = self.hub.call_later(ACCEPT_NOTICE_DELAY, self._on_accept_timer)

    def _on_accept_timer(self) -> None:
        with self._lock:
            self._accept_timer = None
            if self.hub is None:
                return
            self._take_all_accepts()
            self._watch_accepts()

    def _drain(self, child: Child) -> None:
        """Handle everything an exited ``child`` wrote, then let it go."""
        while self._read(child):
            pass
        # A process the job forked may hold the pipe open: do not wait for its EOF.
        self._child_gone(child)

    def _handle(self, child: Child, message: tuple[Any, ...]) -> None:
        kind, job_id = message[0], message[1]
        jobs = child.jobs
        # Children take jobs in order: the job is nearly always the first.
        job = jobs[0] if jobs and jobs[0].id == job_id else next(
            (j for j in jobs if j.id == job_id), None)
        if job is None:
            return
        if kind == ACCEPTED:
            self.writes[message[2]] += 1
            self._call(job.on_accepted, message[2], message[3])
        elif kind == DONE:
            child.jobs.remove(job)
            self._call(job.on_done, *message[2])
            if child.retiring and not child.jobs:
                self._send_stop(child)

    def _fail(self, job: Job, exc: BaseException) -> None:
        self._call(job.on_done, False, failure(exc))

    def _call(self, fun: Callable[..., None], *args: Any) -> None:
        try:
            fun(*args)
        except self.callbacks_propagate:
            raise
        except Exception:
            logger.exception('Pool callback %r raised', fun)

    def take_back(self, jobs: Collection[Job]) -> list[Job]:
        """Withdraw those of ``jobs`` no child has started; return them.

        The others keep their order.  A withdrawn job is never reported.
        """
        wanted = {id(job) for job in jobs}
        with self._lock:
            self._take_all_accepts()
            taken = [job for job in self.waiting if id(job) in wanted and not job.done]
            for child in list(self.children.values()):
                if any(id(job) in wanted and not job.accepted() for job in child.jobs):
                    taken += self._take_back_from(child, wanted)
            for job in taken:
                job.done = True
            if taken:
                self.waiting = deque(job for job in self.waiting if not job.done)
            self._dispatch()
        return sorted(taken, key=lambda job: job.id)

    def _take_back_from(self, child: Child, wanted: set[int]) -> list[Job]:
        taken = child.take_back_unread(wanted, STOP)
        self._flush(child)
        if child.retiring and not child.jobs:
            self._send_stop(child)
        return taken

    def _send_stop(self, child: Child) -> None:
        if not child.stop_sent and not child.gone:
            child.stop_sent = True
            child.outbox.append(STOP)
            self._flush(child)

    def _close_wake(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    # -- supervision ----------------------------------------------------------------------

    def supervise(self) -> None:
        """Enforce time limits and replace children that exited."""
        with self._lock:
            now = monotonic()
            for child in list(self.children.values()):
                self._take_accepts(child)
                job = child.running
                if job is not None and job.time_accepted is not None and not job.done:
                    self._check_limits(child, job, now - job.time_accepted)
                if child.process.exitcode is not None:
                    self._drain(child)
            if self.alive_watch is not None:
                self.alive_watch.check()
            self._maintain()
            for child in list(self.children.values()):
                self._flush(child)
            self._rebalance(now)
            self._dispatch()

    def _rebalance(self, now: float) -> None:
        if self.waiting or not any(not c.jobs and not c.retiring for c in self.children.values()):
            return
        for child in list(self.children.values()):
            job = child.running
            if (job is not None and job.time_accepted is not None
                    and now - job.time_accepted >= REBALANCE_AFTER and len(child.jobs) > 1):
                queued = {id(j) for j in child.jobs if not j.accepted()}
                self.waiting.extendleft(reversed(self._take_back_from(child, queued)))

    def _check_limits(self, child: Child, job: Job, elapsed: float) -> None:
        soft, hard = job.soft_timeout, job.timeout
        if soft and not job.soft_sent and elapsed >= soft:
            job.soft_sent = True
            kill(child.pid, SOFT_LIMIT_SIGNAL)
            self._call(job.on_timeout, True, soft)
        if hard and elapsed >= hard:
            self._call(job.on_timeout, False, hard)
            self._fail(job, TimeLimitExceeded(hard))
            kill(child.pid, signal.SIGKILL)

    def terminate_job(self, pid: int, signum: int | None = None) -> None:
        """Send ``signum`` (default SIGTERM) to child ``pid``; its job is reported Terminated."""
        signum = signum or signal.SIGTERM
        with self._lock:
            child = self.children.get(pid)
            job = child.running if child is not None else None
            if job is not None and job.terminated is None:
                job.terminated = signum
        kill(pid, signum)

    # -- reading results --------------------------------------------------------------------

    def read_results_in(self, hub: Hub) -> bool:
        """Have ``hub`` read results; return False if the helper thread already does."""
        with self._lock:
            if self._thread is not None:
                return False
            self.hub, self._hub_thread = hub, threading.get_ident()
            for child in self.children.values():
                hub.add_reader(child.result_fd, self._on_readable, child)
                if child.outbox:
                    child.writer_registered = True
                    hub.add_writer(child.job_sock.fileno(), self._on_writable, child)
            self._supervisor = hub.call_repeatedly(SUPERVISE_INTERVAL, self._supervise_in_hub)
        return True

    def _supervise_in_hub(self) -> None:
        if self.hub is not None and self.state != TERMINATE:
            self.supervise()

    def ensure_result_reader(self) -> None:
        """Start the helper thread unless a hub reads results."""
        with self._lock:
            if self.hub is None and self._thread is None:
                self._thread = threading.Thread(target=self._run_reader, name='pool-results',
                                                daemon=True)
                self._thread.start()

    def _run_reader(self) -> None:
        next_check = monotonic()
        while self._thread is not None:
            self._poll_once(SUPERVISE_INTERVAL)
            if monotonic() >= next_check:
                next_check = monotonic() + SUPERVISE_INTERVAL
                self.supervise()

    def _poll_once(self, timeout: float) -> None:
        with self._lock:
            readers = {c.result_fd: c for c in self.children.values() if not c.gone}
            accepts = {c.accept_fd: c for c in self.children.values() if not c.gone}
            writers = {c.job_sock.fileno(): c for c in self.children.values()
                       if c.outbox and not c.gone}
        try:
            readable, writable, _ = select.select([self._wake_r, *readers, *accepts],
                                                  list(writers), [], timeout)
        except (OSError, ValueError):
            return   # a descriptor closed meanwhile: look again
        with self._lock:
            for fd in readable:
                if fd == self._wake_r:
                    os.read(self._wake_r, 4096)
                elif fd in accepts:
                    self._take_accepts(accepts[fd])
                elif not readers[fd].gone:
                    self._read(readers[fd])
            for fd in writable:
                self._flush(writers[fd])
            self._dispatch()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b'\x01')
        except (BlockingIOError, OSError):
            pass   # full of wake-ups already, or closed

    def _stop_reader(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            self._wake()
            thread.join(5.0)

    def stop_reading_results(self) -> None:
        """Unregister the children's result pipes from the hub."""
        with self._lock:
            if self.hub is not None:
                for child in self.children.values():
                    self._unregister(child)
                self.hub = None
            if self._supervisor is not None:
                self._supervisor.cancel()
                self._supervisor = None
            if self._accept_timer is not None:
                self._accept_timer.cancel()
                self._accept_timer = None

def kill(pid: int, signum: int) -> None:
    """Send ``signum`` to ``pid`` unless it has exited."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass   # exited already

"""billiard's process pool, with results read by the consumer's event loop.

Extends billiard's ``Pool``, ``ResultHandler`` and ``Worker`` (subclasses
overriding some of their private methods), for the ``spawn`` and
``forkserver`` start methods and for ``CELERY_PREFORK_POOL=billiard``; the
default pool, :mod:`celery.concurrency.procpool`, extends none of them.
These classes share billiard's job and result queues and their locks: a
child SIGKILLed while holding one stalls the others.

billiard normally reads job results on a helper thread.  :class:`HubPool`
defers that thread: when the consumer registers a hub before the first job,
the result pipe is read by the hub instead, so acks and result callbacks run
in the hub thread with no thread hand-off; otherwise the thread starts on the
first job as usual.

Jobs are written the same way: billiard hands each job to a task-handler
thread, and on two cores that thread fights the event loop for the GIL on
every message.  With a hub registered, jobs applied from the hub's thread are
written to the children's job pipe right there, through a non-blocking
handle of its own on the pipe, in one atomic write: a job that does not fit
(the pipe is full, or the job is larger than an atomic write) goes through
the thread as before, so the loop never blocks on a write.

Jobs wait in that pipe for whichever child is free next, so a child never
idles while the event loop catches up with its result.  A job no child has
started yet can be taken back out of the pipe (:meth:`HubPool.take_back`):
warm shutdown and revokes do, so writing ahead changes neither.
"""
from __future__ import annotations

import fcntl
import os
import pickle
import select
import signal
import struct
import termios
import threading
from collections import Counter
from threading import Lock, current_thread, get_ident
from time import monotonic
from typing import Any, Callable, Collection

import billiard.pool
from billiard.common import terminate_handler_fired
from billiard.einfo import ExceptionInfo
from billiard.pool import ACK, DEATH, EX_FAILURE, EX_OK, RUN, TASK, Pool, ResultHandler, Worker
from billiard.reduction import ForkingPickler

from celery.concurrency.hubjob import HubJob

__all__ = ('HubPool',)

_LENGTH = struct.Struct('!i')

#: Most result bytes read per hub wake-up, so one busy pool cannot starve
#: the other readers of the event loop.
MAX_RESULT_BYTES_PER_WAKEUP = 256 * 1024

#: Largest write a pipe takes whole or not at all.
PIPE_BUF = select.PIPE_BUF

#: Seconds to wait at shutdown for a queue lock that a child may have taken
#: with it when it was killed; past that the lock is treated as lost.
LOST_LOCK_WAIT = 1.0

#: Seconds terminated children get to exit before they are killed.
CHILD_EXIT_WAIT = 5.0

#: Seconds to wait at shutdown for billiard's task-handler thread.
TASK_HANDLER_STOP_WAIT = 10.0


class CountingResultHandler(ResultHandler):
    """billiard result handler that counts jobs per child and starts on demand."""

    writes: Counter[int]

    def _make_methods(self) -> None:
        super()._make_methods()
        handle = self.on_state_change
        writes = self.writes = Counter()

        def on_state_change(message: tuple[int, tuple[Any, ...]]) -> None:
            if message[0] == ACK:
                writes[message[1][3]] += 1
            handle(message)
        self.on_state_change = on_state_change

    def start(self, *args: Any, **kwargs: Any) -> None:
        # Started by start_thread() only when no event loop reads results.
        pass

    def start_thread(self) -> None:
        """Read results on a helper thread (no event loop)."""
        super().start()

    @property
    def was_started(self) -> bool:
        """Whether the helper thread runs."""
        return self._was_started


class PromptExitWorker(Worker):
    """billiard pool child that leaves at once when told to stop."""

    def _do_exit(self, pid: int, exitcode: int | None, exc: BaseException | None = None) -> None:
        if terminate_handler_fired():
            # Stopped by SIGTERM (hard time limit, terminate): billiard SIGKILLs
            # us 0.1 s later, and a kill while reporting the exit would take
            # the shared result-queue lock along, blocking every other child.
            # The parent sees the exit anyway: leave without reporting it.
            code = EX_FAILURE if exitcode is None else exitcode
            if self.on_exit is not None:
                self.on_exit(pid, code)
            _die_by_signal(code)
            os._exit(code)
        if exitcode is not None or exc is not None:
            super()._do_exit(pid, exitcode, exc)
        # A stop sentinel: billiard would sleep a second after reporting the
        # exit, which every warm shutdown and pool restart would wait for.
        if self.on_exit is not None:
            self.on_exit(pid, EX_OK)
        try:
            self.outq.put((DEATH, (pid, EX_OK)))
        finally:
            os._exit(EX_OK)


def _die_by_signal(exitcode: int) -> None:
    """End this process by the signal billiard's terminate handler encoded in ``exitcode``."""
    # The handler exits with -(256 - signum), seen by the parent as exit code
    # 15: "exited with 'exitcode 15'".  Dying by the signal itself makes it
    # log "'signal 15 (SIGTERM)'", as Celery's workers do.
    if not -256 < exitcode < 0:
        return
    try:
        sig = signal.Signals(exitcode + 256)
    except ValueError:
        return
    signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
    os.kill(os.getpid(), sig)


class HubPool(Pool):
    """A billiard pool whose results can be read from a kombu hub."""

    ResultHandler = CountingResultHandler
    Worker = PromptExitWorker

    hub: Any = None
    _hub_thread: int | None = None

    def __init__(self, *args: Any, alive_watch: Any = None, **kwargs: Any) -> None:
        # Set first: billiard starts the children from its own __init__.
        self.alive_watch = alive_watch
        if alive_watch is not None:
            kwargs.setdefault('on_process_up', alive_watch.on_process_up)
            kwargs.setdefault('on_process_down', alive_watch.on_process_down)
        super().__init__(*args, **kwargs)

    def _maintain_pool(self) -> None:
        # Run by billiard's supervisor thread: also the place to find stuck children.
        super()._maintain_pool()
        if self.alive_watch is not None:
            self.alive_watch.check()

    def _setup_queues(self) -> None:
        super()._setup_queues()
        # The task-handler thread and the hub thread both write jobs: one at a time.
        self._job_write_lock = Lock()
        writer = self._inqueue._writer
        self._job_fd = writer.fileno()
        self._job_fd_nonblocking = _open_nonblocking(self._job_fd)
        self._quick_put = self._locked_put(writer.send)

    def _locked_put(self, send: Callable[[Any], None]) -> Callable[[Any], None]:
        lock = self._job_write_lock

        def put(job: Any) -> None:
            with lock:
                send(job)
        return put

    def read_results_in(self, hub: Any) -> bool:
        """Have ``hub`` read results; return False if the result thread already does."""
        if self._result_handler.was_started:
            return False
        self.hub = hub
        self._hub_thread = get_ident()
        hub.add_reader(self._outqueue._reader.fileno(), self.on_results_readable)
        return True

    def apply_async(self, func: Callable[..., Any], args: Any = (), kwds: Any = None,
                    callback: Callable[..., Any] | None = None,
                    error_callback: Callable[..., Any] | None = None,
                    accept_callback: Callable[..., Any] | None = None,
                    timeout_callback: Callable[..., Any] | None = None,
                    waitforslot: bool | None = None, soft_timeout: float | None = None,
                    timeout: float | None = None, lost_worker_timeout: float | None = None,
                    callbacks_propagate: tuple = (), correlation_id: str | None = None) -> Any:
        """Queue ``func(*args, **kwds)`` for a child; from the hub thread, write it directly."""
        if self.hub is None or get_ident() != self._hub_thread or self._state != RUN:
            return super().apply_async(
                func, args, kwds or {}, callback, error_callback, accept_callback,
                timeout_callback, waitforslot, soft_timeout, timeout, lost_worker_timeout,
                callbacks_propagate, correlation_id)
        soft_timeout = soft_timeout or self.soft_timeout
        timeout = timeout or self.timeout
        result = HubJob(
            self._cache, callback, accept_callback, timeout_callback, error_callback,
            soft_timeout, timeout, lost_worker_timeout or self.lost_worker_timeout,
            self.on_timeout_set, self.on_timeout_cancel,
            callbacks_propagate=callbacks_propagate, correlation_id=correlation_id)
        if timeout or soft_timeout:
            self._start_timeout_handler()
        self._write_job(result, (TASK, (result._job, None, func, args, kwds or {})))
        return result

    def _write_job(self, result: Any, job: tuple[Any, ...]) -> None:
        try:
            data = _dump_job(job)
        except Exception:  # noqa: BLE001 - reported to the job like billiard does
            result._set(None, (False, ExceptionInfo()))
            # Never accepted, so _set left it cached: shutdown would wait for it.
            self._cache.pop(result._job, None)
            return
        message = _LENGTH.pack(len(data)) + data
        fd = self._job_fd_nonblocking
        if fd is not None and len(message) <= PIPE_BUF and self._job_write_lock.acquire(False):
            try:
                os.write(fd, message)
                return
            except BlockingIOError:
                pass   # the pipe is full: the thread waits for room
            finally:
                self._job_write_lock.release()
        self._taskqueue.put(([job], None))

    def take_back(self, results: Collection[Any]) -> list[Any]:
        """Remove the jobs of ``results`` still waiting in the job pipe; return those results.

        Jobs a child has taken (or is taking) stay where they are; the others
        in the pipe go back in their order.  Their results are forgotten.
        """
        by_id = {result._job: result for result in results}
        if not by_id:
            return []
        with self._job_write_lock:
            if not self._hold_job_readers():
                return []
            try:
                reader_fd = self._inqueue._reader.fileno()
                taken, kept = [], []
                for payload in _read_messages(reader_fd, _unread_bytes(reader_fd)):
                    job_id = _job_id(ForkingPickler.loads(payload))
                    if job_id in by_id:
                        taken.append(by_id[job_id])
                        self._cache.pop(job_id, None)
                    else:
                        kept.append(_LENGTH.pack(len(payload)) + payload)
                _write_all(self._job_fd, b''.join(kept))
            finally:
                self._inqueue._rlock.release()
        return taken

    def _hold_job_readers(self) -> bool:
        # An idle child waits for a job holding the read lock, so the lock is
        # only asked for while jobs wait: then the child holding it is reading
        # one and lets go at once.
        reader_fd = self._inqueue._reader.fileno()
        lock = self._inqueue._rlock
        deadline = monotonic() + LOST_LOCK_WAIT
        while _unread_bytes(reader_fd) and monotonic() < deadline:
            if lock.acquire(True, 0.005):
                return True
        return False

    def ensure_result_reader(self) -> None:
        """Start the result thread unless a hub reads results."""
        if self.hub is None and not self._result_handler.was_started:
            self._result_handler.start_thread()

    def on_results_readable(self, *args: Any) -> None:
        """Handle every result waiting in the pipe (called by the hub).

        One read takes everything the children wrote so far, instead of a
        poll and two reads per message; only whole messages are taken, so
        billiard can read the pipe itself again at shutdown.
        """
        handle = self._result_handler.on_state_change
        sentinel = False
        for message in self._read_results():
            if message is None:
                sentinel = True
            else:
                handle(message)   # read already: ours to handle, even after the sentinel
        if sentinel:
            # Shutdown sentinel: the closing pool finishes reading itself.
            self.stop_reading_results()

    def _read_results(self) -> list[Any]:
        fd = self._outqueue._reader.fileno()
        waiting = _unread_bytes(fd)
        if waiting < 4:
            return []
        loads = ForkingPickler.loads
        return [loads(payload)
                for payload in _read_messages(fd, min(waiting, MAX_RESULT_BYTES_PER_WAKEUP))]

    def stop_reading_results(self) -> None:
        """Unregister the result pipe from the hub."""
        if self.hub is None:
            return
        try:
            self.hub.remove_reader(self._outqueue._reader.fileno())
        except (OSError, ValueError, KeyError):
            pass  # the hub may be closed already
        self.hub = None

    def terminate(self) -> None:
        """Kill the children; their unfinished jobs are given up at once."""
        # billiard reads results until every cached job has one and gives up
        # on a killed child's job only five seconds after the child is gone,
        # so every cold shutdown with a task running would take that long.
        # Results already written are handled first.
        if not self._result_handler.was_started:
            while self._results_waiting():
                self.on_results_readable()
        self._result_handler.terminate()
        # billiard sends SIGTERM and joins each child without a limit; a child
        # reporting its exit blocks SIGTERM and may be stuck on a lock a killed
        # sibling held: SIGKILL whatever is still alive after a while.
        killer = threading.Timer(CHILD_EXIT_WAIT, _kill_all, ([p.pid for p in self._pool],))
        killer.daemon = True
        killer.start()
        try:
            super().terminate()
        finally:
            killer.cancel()
            self._close_job_fd()

    def join(self) -> None:
        """Wait for the children to exit (after :meth:`close`)."""
        super().join()
        self._close_job_fd()

    def _close_job_fd(self) -> None:
        fd, self._job_fd_nonblocking = self._job_fd_nonblocking, None
        if fd is not None:
            os.close(fd)

    def _results_waiting(self) -> bool:
        return _unread_bytes(self._outqueue._reader.fileno()) >= 4   # 4: a length header

    def shrink(self, n: int = 1) -> None:
        """Retire ``n`` children as they become idle.

        billiard signals idle children, which can kill one just as it takes
        the shared job-queue lock and leave the others waiting forever; a stop
        sentinel in the job queue retires a child between jobs instead.
        """
        if n >= self._processes:
            raise ValueError(
                f"Can't shrink the pool by {n}: it has {self._processes} processes "
                'and must keep at least one')
        for _ in range(n):
            self._processes -= 1
            if self._putlock is not None:
                self._putlock.shrink()
            self._taskqueue.put(([None], None))
        self.on_shrink(n)

    def restart(self) -> None:
        """Replace every child once it finishes its current job."""
        super().restart()
        # Idle children only look at their restart flag between jobs: give
        # each one a job so it notices.
        for _ in range(self._processes):
            self.apply_async(_noop)

    @staticmethod
    def _help_stuff_finish(inqueue: Any, task_handler: Any, _pool: Any) -> None:
        # billiard waits forever for the job-queue read lock, which a child
        # killed while reading holds for good: wait a bounded time instead.
        locked = inqueue._rlock.acquire(True, LOST_LOCK_WAIT)
        while locked and task_handler.is_alive() and inqueue._reader.poll():
            inqueue._reader.recv()

    @staticmethod
    def _stop_task_handler(task_handler: Any) -> None:
        # The task-handler thread can be stuck for good writing to a queue
        # whose lock a killed child took with it; it is a daemon thread, so
        # stop waiting for it after a while instead of hanging the shutdown.
        if task_handler is not current_thread():
            task_handler.stop(TASK_HANDLER_STOP_WAIT)

    @classmethod
    def _set_result_sentinel(cls, outqueue: Any, pool: Any) -> None:
        # As above, for the result-queue write lock of a killed child.
        lock = outqueue._wlock
        if lock is None or lock.acquire(True, LOST_LOCK_WAIT):
            try:
                outqueue._writer.send_bytes(ForkingPickler.dumps(None))
            finally:
                if lock is not None:
                    lock.release()
        else:
            outqueue._writer.send_bytes(ForkingPickler.dumps(None))

    @property
    def writes(self) -> Counter[int]:
        """Jobs accepted per child pid."""
        return self._result_handler.writes

    # The pool interface TaskPool uses, shared with ProcessPool.

    @property
    def is_open(self) -> bool:
        """Whether the pool still has children to stop (running or closed)."""
        return self._state in (RUN, billiard.pool.CLOSE)

    @property
    def accepting(self) -> bool:
        """Whether the pool takes new jobs."""
        return self._state == RUN

    @property
    def size(self) -> int:
        """Number of children the pool keeps."""
        return self._processes

    @property
    def maxtasksperchild(self) -> int | None:
        """Jobs a child runs before it is replaced (None: no limit)."""
        return self._maxtasksperchild

    def pids(self) -> list[int]:
        """Pids of the children."""
        return [p.pid for p in self._pool]

    def live_pids(self) -> list[int]:
        """Pids of the children that have not exited."""
        return [p.pid for p in list(self._pool) if p.pid and p.exitcode is None]


def _dump_job(job: tuple[Any, ...]) -> bytes:
    # Plain pickle is a third cheaper than billiard's ForkingPickler, whose
    # extra reducers (sockets, pipes) task jobs never need; jobs that do
    # need them still get them.
    try:
        return pickle.dumps(job, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - retried with billiard's reducers
        return bytes(ForkingPickler.dumps(job))


def _noop() -> None:
    pass


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass   # exited already


def _open_nonblocking(fd: int) -> int | None:
    # Opening the pipe again gives a handle whose O_NONBLOCK is its own:
    # the task-handler thread keeps writing through the blocking one.
    try:
        return os.open(f'/proc/self/fd/{fd}', os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None   # no /proc: every job goes through the thread


def _job_id(job: Any) -> int | None:
    # A job is (TASK, (job_id, index, func, args, kwargs)); None stops a child.
    return job[1][0] if job is not None and job[0] == TASK else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _unread_bytes(fd: int) -> int:
    return struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'\0\0\0\0'))[0]


def _read_messages(fd: int, size: int) -> list[bytearray]:
    """Read ``size`` bytes of length-prefixed messages from ``fd``; return the payloads.

    A message cut off at ``size`` is read to its end (its writer is still
    writing it), so only whole messages are taken.
    """
    data = _read_exactly(fd, size)
    payloads, offset = [], 0
    while offset < len(data):
        if len(data) - offset < _LENGTH.size:
            data += _read_exactly(fd, _LENGTH.size - (len(data) - offset))
        start = offset + _LENGTH.size
        offset = start + _LENGTH.unpack_from(data, offset)[0]
        if offset > len(data):
            data += _read_exactly(fd, offset - len(data))
        payloads.append(data[start:offset])
    return payloads


def _read_exactly(fd: int, size: int) -> bytearray:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError('pool result pipe closed in the middle of a message')
        data += chunk
    return data

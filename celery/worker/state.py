"""Worker-global state: reserved/active requests, revoked ids, counters, statedb."""
from __future__ import annotations

import atexit
import os
import pickle
import platform
import shelve
import sys
import weakref
import zlib
from collections import Counter
from functools import cached_property, wraps
from time import monotonic
from typing import TYPE_CHECKING, TextIO

from celery import __version__
from celery.exceptions import WorkerShutdown, WorkerTerminate
from celery.utils.collections import LimitedSet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from kombu.clocks import LamportClock

    from celery.worker._types import RevokedState, SoftwareInfo
    from celery.worker.request import Request

    #: What is done with a request as it moves through the worker.
    RequestHook = Callable[..., None]

__all__ = (
    'forget_requests', 'reserved_for',
    'SOFTWARE_INFO', 'reserved_requests', 'active_requests', 'total_count', 'revoked',
    'revoked_stamps', 'successful_requests', 'task_reserved', 'task_accepted', 'task_ready',
    'maybe_shutdown', 'reset_state', 'Persistent',
    'scheduled_requests', 'task_scheduled', 'merge_revoked', 'pickle_protocol',
    'C_BENCH', 'C_BENCH_EVERY', 'TaskBench',
)

#: Worker software details, sent in worker events.
SOFTWARE_INFO: SoftwareInfo = {
    'sw_ident': 'py-celery',
    'sw_ver': __version__,
    'sw_sys': platform.system(),
}

#: Most revoked ids kept in memory (env ``CELERY_WORKER_REVOKES_MAX``).
REVOKES_MAX = int(os.environ.get('CELERY_WORKER_REVOKES_MAX', 50000))
#: Seconds a revoke is remembered (env ``CELERY_WORKER_REVOKE_EXPIRES``).
REVOKE_EXPIRES = float(os.environ.get('CELERY_WORKER_REVOKE_EXPIRES', 10800))
#: Pickle protocol of the ``--statedb`` file.
pickle_protocol = 4

#: Set (env ``C_BENCH`` or ``CELERY_BENCH``) to print task-processing times.
C_BENCH = os.environ.get('C_BENCH') or os.environ.get('CELERY_BENCH')
#: Tasks per printed benchmark line (env ``C_BENCH_EVERY`` or ``CELERY_BENCH_EVERY``).
C_BENCH_EVERY = int(os.environ.get('C_BENCH_EVERY') or
                    os.environ.get('CELERY_BENCH_EVERY') or 1000)

#: Most successful ids kept for ``worker_deduplicate_successful_tasks``.
SUCCESSFUL_MAX = int(os.environ.get('CELERY_WORKER_SUCCESSFUL_MAX', 1000))
SUCCESSFUL_EXPIRES = float(os.environ.get('CELERY_WORKER_SUCCESSFUL_EXPIRES', 10800))

#: Every request known to the worker, by id.
requests: dict[str, Request] = {}
#: Requests received and waiting for (or running in) the pool.
reserved_requests: weakref.WeakSet[Request] = weakref.WeakSet()
#: Reserved requests by worker node name: several embedded workers may share
#: a process, and each one's dispatching must count only its own.
reserved_by_hostname: dict[str | None, weakref.WeakSet[Request]] = {}
#: Requests currently executing.
active_requests: weakref.WeakSet[Request] = weakref.WeakSet()
#: Requests waiting in the timer for their ETA/countdown.
scheduled_requests: weakref.WeakSet[Request] = weakref.WeakSet()
#: Ids of tasks that succeeded recently.
successful_requests = LimitedSet(maxlen=SUCCESSFUL_MAX, expires=SUCCESSFUL_EXPIRES)
#: Executed tasks by name.
total_count: Counter[str] = Counter()
#: Executed tasks of any name (a list so it can be bumped without ``global``).
all_total_count = [0]
#: Ids of revoked tasks.
revoked = LimitedSet(maxlen=REVOKES_MAX, expires=REVOKE_EXPIRES)
#: Stamped-header revokes: header name -> revoked values.
revoked_stamps: dict[str, list[object]] = {}

#: Set to an exit code (or True) to request a warm shutdown from the loop.
should_stop: int | bool | None = None
#: Set to an exit code (or True) to request a cold shutdown from the loop.
should_terminate: int | bool | None = None


def reset_state() -> None:
    """Forget every request, revoke and counter (used by tests and restarts)."""
    global should_stop, should_terminate
    requests.clear()
    reserved_requests.clear()
    reserved_by_hostname.clear()
    active_requests.clear()
    scheduled_requests.clear()
    successful_requests.clear()
    total_count.clear()
    all_total_count[:] = [0]
    revoked.clear()
    revoked_stamps.clear()
    should_stop = should_terminate = None


def forget_requests(hostname: str) -> None:
    """Drop what a stopped worker still lists: its unstarted messages go back to the broker.

    Only ``hostname``'s requests are dropped: several workers may share this
    process (embedded test workers).
    """
    for request_id, request in list(requests.items()):
        if getattr(request, 'hostname', None) == hostname:
            requests.pop(request_id, None)
            reserved_requests.discard(request)
            active_requests.discard(request)
    # Cleared, not dropped: a dispatcher may hold this very set.
    reserved_for(hostname).clear()


def maybe_shutdown() -> None:
    """Raise the shutdown exception requested by a signal handler, if any."""
    if should_stop is not None and should_stop is not False:
        raise WorkerShutdown(should_stop)
    if should_terminate is not None and should_terminate is not False:
        raise WorkerTerminate(should_terminate)


def merge_revoked(task_ids: Iterable[str]) -> None:
    """Add revoked ids learnt from another worker (mingle, statedb)."""
    revoked.update(task_ids)
    revoked.purge()


def reserved_for(hostname: str | None) -> weakref.WeakSet[Request]:
    """The reserved requests of the worker named ``hostname`` (a live set)."""
    try:
        return reserved_by_hostname[hostname]
    except KeyError:
        return reserved_by_hostname.setdefault(hostname, weakref.WeakSet())


def task_scheduled(request: Request,
                   add_request: Callable[[str, Request], None] = requests.__setitem__,
                   add_scheduled_request: Callable[[Request], None] = scheduled_requests.add,
                   all_reserved_requests: weakref.WeakSet[Request] = reserved_requests,
                   all_active_requests: weakref.WeakSet[Request] = active_requests) -> None:
    """Record that ``request`` waits for its ETA/countdown in the timer.

    A request waiting in the timer neither holds a pool slot nor runs: it
    leaves ``all_reserved_requests``/``all_active_requests`` if it was there
    (a task retried with a countdown by the same worker).
    """
    add_request(request.id, request)
    add_scheduled_request(request)
    all_reserved_requests.discard(request)
    all_active_requests.discard(request)


def task_reserved(request: Request,
                  add_request: Callable[[str, Request], None] = requests.__setitem__,
                  add_reserved_request: Callable[[Request], None] = reserved_requests.add,
                  discard_scheduled_request: Callable[[Request], None] = (
                      scheduled_requests.discard)) -> None:
    """Record that ``request`` was received and is waiting for the pool."""
    add_request(request.id, request)
    add_reserved_request(request)
    discard_scheduled_request(request)
    reserved_for(getattr(request, 'hostname', None)).add(request)


def task_accepted(request: Request, _all_total_count: list[int] = all_total_count,
                  add_request: Callable[[str, Request], None] = requests.__setitem__,
                  add_active_request: Callable[[Request], None] = active_requests.add,
                  add_to_total_count: Callable[[dict[str, int]], None] | None = None) -> None:
    """Record that ``request`` started executing."""
    add_request(request.id, request)
    add_active_request(request)
    if add_to_total_count is None:
        total_count[request.name] += 1   # the hot path: no dict per task
    else:
        add_to_total_count({request.name: 1})
    _all_total_count[0] += 1


def task_ready(request: Request, successful: bool = False,
               remove_request: Callable[[str, None], Request | None] = requests.pop,
               discard_active_request: Callable[[Request], None] = active_requests.discard,
               discard_reserved_request: Callable[[Request], None] = reserved_requests.discard,
               discard_scheduled_request: Callable[[Request], None] = (
                   scheduled_requests.discard)) -> None:
    """Record that ``request`` finished (or will never run)."""
    if successful:
        successful_requests.add(request.id)
    remove_request(request.id, None)
    discard_active_request(request)
    discard_reserved_request(request)
    discard_scheduled_request(request)
    own = reserved_by_hostname.get(getattr(request, 'hostname', None))
    if own is not None:
        own.discard(request)


class TaskBench:
    """``C_BENCH``: print how long the worker takes per ``C_BENCH_EVERY`` finished tasks."""

    def __init__(self, every: int = C_BENCH_EVERY, out: TextIO | None = None) -> None:
        self.every = every
        self.out = out
        self.first_received: float | None = None
        self.last_report: float | None = None
        self.finished = 0

    def on_reserved(self) -> None:
        """Start the clock at the first task received."""
        if self.first_received is None:
            self.first_received = self.last_report = monotonic()

    def on_ready(self) -> None:
        """Count a finished task; print a line every ``every`` tasks."""
        self.finished += 1
        if self.finished % self.every or self.last_report is None:
            return
        now = monotonic()
        self._print(f'- Time spent processing {self.every} tasks '
                    f'(since first task received): ~{now - self.last_report:.4f}s')
        self.last_report = now

    def report(self) -> None:
        """The totals, printed when the process exits."""
        if self.first_received is None:
            return
        elapsed = monotonic() - self.first_received
        self._print(f'- Time spent in benchmark: {elapsed:.4f}s, {self.finished} tasks')
        self._print(f'- Avg: {elapsed / max(self.finished, 1):.6f}s per task')

    def _print(self, line: str) -> None:
        print(line, file=self.out or sys.stdout, flush=True)

    def wrap(self, reserved: RequestHook, ready: RequestHook) -> tuple[RequestHook, RequestHook]:
        """``task_reserved``/``task_ready`` that also feed this benchmark."""
        @wraps(reserved)
        def bench_reserved(request: Request, *args: object, **kwargs: object) -> None:
            self.on_reserved()
            reserved(request, *args, **kwargs)

        @wraps(ready)
        def bench_ready(request: Request, *args: object, **kwargs: object) -> None:
            ready(request, *args, **kwargs)
            self.on_ready()
        return bench_reserved, bench_ready


if C_BENCH:
    # Only then: the plain functions stay on the hot path otherwise.
    bench = TaskBench()
    atexit.register(bench.report)
    task_reserved, task_ready = bench.wrap(task_reserved, task_ready)


class Persistent:
    """The ``--statedb`` file: revoked ids and the logical clock, kept in a shelve."""

    protocol = pickle_protocol
    #: Module opening the file (:mod:`shelve` API).
    storage = shelve
    compress = staticmethod(zlib.compress)
    decompress = staticmethod(zlib.decompress)
    _is_open = False

    def __init__(self, state: RevokedState, filename: str,
                 clock: LamportClock | None = None) -> None:
        self.state = state
        self.filename = filename
        self.clock = clock
        self.merge()

    def open(self) -> shelve.Shelf[bytes | int]:
        """Open the shelve file."""
        return self.storage.open(self.filename, protocol=self.protocol, writeback=True)

    def merge(self) -> None:
        """Load revoked ids and the clock from the file into memory."""
        db = self.db
        zrevoked = db.get('zrevoked')
        if isinstance(zrevoked, bytes) and zrevoked:
            self.state.revoked.update(pickle.loads(self.decompress(zrevoked)))
        self.state.revoked.purge()
        if self.clock:
            stored = db.get('clock')
            db['clock'] = self.clock.adjust(stored if isinstance(stored, int) else 0)

    def sync(self) -> None:
        """Write revoked ids and the clock to the file."""
        self.state.revoked.purge()
        self.db.update({
            '__proto__': 3,
            'zrevoked': self.compress(pickle.dumps(self.state.revoked, protocol=self.protocol)),
            'clock': self.clock.forward() if self.clock else 0,
        })
        self.db.sync()

    def close(self) -> None:
        """Close the file if it is open."""
        if self._is_open:
            self.db.close()
            self._is_open = False
            self.__dict__.pop('db', None)

    def save(self) -> None:
        """Sync then close."""
        self.sync()
        self.close()

    @cached_property
    def db(self) -> shelve.Shelf[bytes | int]:
        """The open shelve."""
        self._is_open = True
        return self.open()

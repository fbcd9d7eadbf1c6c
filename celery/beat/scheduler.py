"""The in-memory scheduler: decides what is due and sends it."""
from __future__ import annotations

import copy
import heapq
import time
from collections.abc import Callable, Mapping, MutableMapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from celery.beat.entry import (
    ScheduleEntry,
    SchedulingError,
    _evaluate_entry_args,
    _evaluate_entry_kwargs,
    event_t,
)
from celery.schedules import crontab, schedstate
from celery.utils.log import get_logger
from celery.utils.time import get_exponential_backoff_interval, humanize_seconds

if TYPE_CHECKING:
    from kombu import Connection, Producer

    from celery.app.base import Celery
    from celery.result import AsyncResult

__all__ = ('Scheduler', 'DEFAULT_MAX_INTERVAL')

logger = get_logger('celery.beat')

DEFAULT_MAX_INTERVAL = 300  # seconds
#: Longest wait before retrying a task that could not be sent.
MAX_SEND_RETRY_INTERVAL = 30.0
#: A head entry due this much later than its heap time is moved back.
HEAP_TOLERANCE = 1.0
#: Reads of a schedule that keeps changing under us before giving up.
SNAPSHOT_ATTEMPTS = 5


def _snapshot(schedule: Mapping[str, ScheduleEntry]) -> dict[str, ScheduleEntry] | None:
    """Copy ``schedule`` into a plain dict; None if it kept changing while read."""
    # A database scheduler may refresh its mapping from another thread; reading
    # it then raises "dictionary changed size during iteration": read again.
    for _ in range(SNAPSHOT_ATTEMPTS):
        try:
            return dict(schedule)
        except RuntimeError:
            continue
    logger.debug('beat: the schedule kept changing while read; trying again next tick')
    return None


class Scheduler:
    """Keep the schedule and send each task when it is due.

    ``tick()`` sends what is due and returns how long to sleep.  Entries
    are kept in a heap ordered by when they are expected to be due, so a
    tick costs O(log n) however many entries there are.
    """

    Entry = ScheduleEntry

    #: The schedule dict/shelve.
    schedule: MutableMapping[str, ScheduleEntry]

    #: Maximum seconds to sleep between re-checking the schedule.
    max_interval: float = DEFAULT_MAX_INTERVAL

    #: Seconds between syncs of the schedule (by time).
    sync_every: float = 3 * 60

    #: How many sent tasks trigger a sync (``beat_sync_every``).
    sync_every_tasks: int | None = None

    #: Persist reserved runs before sending them (at-most-once across restarts).
    sync_before_send: bool = False

    _last_sync: float | None = None
    _tasks_since_sync: int = 0

    logger = logger

    def __init__(self, app: Celery, schedule: dict[str, ScheduleEntry] | None = None,
                 max_interval: float | None = None,
                 Producer: Callable[..., Producer] | None = None, lazy: bool = False,
                 sync_every_tasks: int | None = None, **kwargs: Any) -> None:
        self.app = app
        self.data = {} if schedule is None else schedule
        self.max_interval = (max_interval or app.conf.beat_max_loop_interval
                             or self.max_interval)
        self.Producer = Producer
        self._heap: list[event_t] | None = None
        self._heap_source: Any = None
        self._heap_size = 0
        self.old_schedulers: Any = None
        self._send_failures = 0
        self.sync_every_tasks = (app.conf.beat_sync_every if sync_every_tasks is None
                                 else sync_every_tasks)
        if not lazy:
            self.setup_schedule()

    # -- the schedule ------------------------------------------------------

    def setup_schedule(self) -> None:
        """Load the schedule from configuration."""
        self.install_default_entries(self.data)
        self.merge_inplace(self.app.conf.beat_schedule)

    def install_default_entries(self, data: Mapping[str, Any]) -> None:
        """Add ``celery.backend_cleanup`` when results expire but the backend can't expire them."""
        if not self.app.conf.result_expires or 'celery.backend_cleanup' in data:
            return
        try:
            autoexpires = self.app.backend.supports_autoexpire
        except Exception as exc:  # a broken backend must not stop beat
            logger.error('beat: cannot check the result backend (%r); '
                         'not scheduling celery.backend_cleanup', exc)
            return
        if not autoexpires:
            self.update_from_dict({'celery.backend_cleanup': {
                'task': 'celery.backend_cleanup',
                'schedule': crontab('0', '4', '*'),
                'options': {'expires': 12 * 3600},
            }})

    def _maybe_entry(self, name: str, entry: Any) -> ScheduleEntry:
        if isinstance(entry, self.Entry):
            entry.app = self.app
            return entry
        return self.Entry(**dict(entry, name=name, app=self.app))

    def _valid_entries(self, entries: Mapping[str, Any]) -> dict[str, ScheduleEntry]:
        """Build entries, logging (and skipping) the ones that are malformed."""
        valid = {}
        for name, entry in entries.items():
            try:
                valid[name] = self._maybe_entry(name, entry)
            except Exception as exc:
                logger.error('beat: schedule entry %r is invalid and will not run: %r. '
                             'An entry needs "task" and "schedule" (a number of seconds, '
                             'timedelta, crontab or solar).', name, exc)
        return valid

    def update_from_dict(self, dict_: Mapping[str, Any]) -> None:
        """Add or replace entries from a ``beat_schedule``-style mapping."""
        self.schedule.update(self._valid_entries(dict_))
        self._heap = None

    def merge_inplace(self, b: Mapping[str, Any]) -> None:
        """Make the schedule hold exactly the entries of ``b``, keeping run history."""
        schedule = self.schedule
        for key in set(schedule) - set(b):
            schedule.pop(key, None)
        for key, entry in self._valid_entries(b).items():
            if schedule.get(key):
                schedule[key].update(entry)
            else:
                schedule[key] = entry
        self._heap = None

    def add(self, **kwargs: Any) -> ScheduleEntry:
        """Add one entry built from keyword arguments."""
        entry = self.Entry(app=self.app, **kwargs)
        self.schedule[entry.name] = entry
        self._heap = None
        return entry

    def get_schedule(self) -> MutableMapping[str, ScheduleEntry]:
        """Return the schedule mapping."""
        return self.data

    def set_schedule(self, schedule: MutableMapping[str, ScheduleEntry]) -> None:
        """Replace the schedule mapping."""
        self.data = schedule

    schedule = property(get_schedule, set_schedule)  # type: ignore[assignment]

    def schedules_equal(self, old_schedules: Mapping[str, ScheduleEntry] | None,
                        new_schedules: Mapping[str, ScheduleEntry] | None) -> bool:
        """Return True if two schedules hold equal entries under the same names."""
        if old_schedules is None or new_schedules is None:
            return old_schedules is new_schedules
        old, new = _snapshot(old_schedules), _snapshot(new_schedules)
        if old is None or new is None:
            return True  # unreadable for now: keep the heap, compare on the next tick
        if old.keys() != new.keys():
            return False
        return all(new[name] == entry for name, entry in old.items())

    # -- ticking -----------------------------------------------------------

    def is_due(self, entry: ScheduleEntry) -> schedstate:
        """Ask ``entry`` whether it is due."""
        return entry.is_due()

    def _when(self, entry: ScheduleEntry, next_time_to_run: float) -> float:
        return time.time() + (next_time_to_run or 0)

    def _heap_is_stale(self, schedule: Mapping[str, ScheduleEntry]) -> bool:
        # Our own changes reset the heap, so the same mapping at the same size
        # is current.  A scheduler whose ``schedule`` hands back a new mapping
        # (and new entry objects) on each read, as database schedulers do, is
        # compared by content instead: rebuilding on every read would forget
        # each entry's place in the heap.
        if self._heap is None:
            return True
        if self._heap_source is schedule and self._heap_size == len(schedule):
            return False
        if self.schedules_equal(self.old_schedulers, schedule):
            self._heap_source = schedule
            return False
        return True

    def populate_heap(self, event_t: type[event_t] = event_t,
                      heapify: Callable[[list], None] = heapq.heapify) -> None:
        """Rebuild the heap from the schedule."""
        schedule = self.schedule
        snapshot = _snapshot(schedule)
        if snapshot is None:
            snapshot = dict(self.old_schedulers or {})
        heap = []
        for entry in snapshot.values():
            is_due, next_call_delay = self._checked_is_due(entry)
            heap.append(event_t(self._when(entry, 0 if is_due else next_call_delay), 5, entry))
        heapify(heap)
        self._heap, self._heap_source, self._heap_size = heap, schedule, len(snapshot)
        self.old_schedulers = snapshot

    def _checked_is_due(self, entry: ScheduleEntry) -> schedstate:
        try:
            return self.is_due(entry)
        except Exception as exc:
            logger.error('beat: cannot tell whether %r is due (%r); checking again in %s',
                         entry.name, exc, humanize_seconds(self.max_interval), exc_info=True)
            return schedstate(False, self.max_interval)

    def tick(self, event_t: type[event_t] = event_t, min: Callable[..., Any] = min,
             heappop: Callable[[list], Any] = heapq.heappop,
             heappush: Callable[[list, Any], None] = heapq.heappush) -> float:
        """Send every due task; return the seconds to sleep before the next tick."""
        schedule = self.schedule
        if self._heap_is_stale(schedule):
            self.populate_heap()
        due = self._pop_due(schedule, heappop)
        if due is None:  # an entry was edited in place: rebuild once
            self.populate_heap()
            due = self._pop_due(schedule, heappop, rebuilt=True) or []
        if due:
            self._send_due(due)
        heap = self._heap
        if not heap:
            return self.max_interval
        return max(0.0, min(heap[0].time - time.time(), self.max_interval))

    def _pop_due(self, schedule: Mapping[str, ScheduleEntry], heappop: Callable[[list], Any],
                 rebuilt: bool = False) -> list[tuple[event_t, float]] | None:
        """Pop the due events off the heap; None when the heap must be rebuilt first."""
        heap = self._heap
        due = []
        for _ in range(len(heap)):
            if not heap:
                break
            event = heap[0]
            entry = event.entry
            current = schedule.get(entry.name)
            if current is None:  # removed since the heap was built
                heappop(heap)
                continue
            if not rebuilt and current is not entry and current != entry:
                # Edited in place (same name, new task/schedule/args).  An equal
                # new object (database schedulers hand out fresh ones on each
                # read) keeps its place and run history in the heap.
                return None
            is_due, next_time_to_run = self._checked_is_due(entry)
            if is_due:
                heappop(heap)
                due.append((event, next_time_to_run))
                continue
            expected = self._when(entry, next_time_to_run)
            if expected <= event.time + HEAP_TOLERANCE:
                break  # the head is accurate, so nothing behind it is due either
            heapq.heapreplace(heap, event_t(expected, event.priority, entry))
        return due

    def _send_due(self, due: list[tuple[event_t, float]]) -> None:
        reserved = [(event, self.reserve(event.entry), next_time) for event, next_time in due]
        if self.sync_before_send:
            self._do_sync()
        for event, new_entry, next_time in reserved:
            if self._send(event.entry):
                heapq.heappush(self._heap, event_t(self._when(new_entry, next_time),
                                                   event.priority, new_entry))
            else:
                # Not sent: undo the reservation so the run stays due.
                self.schedule[event.entry.name] = event.entry
                retry_in = get_exponential_backoff_interval(
                    1.0, self._send_failures, min(self.max_interval, MAX_SEND_RETRY_INTERVAL))
                heapq.heappush(self._heap, event_t(time.time() + retry_in,
                                                   event.priority, event.entry))

    def _send(self, entry: ScheduleEntry) -> bool:
        """Send one due entry; False if the broker could not be reached."""
        logger.info('Scheduler: Sending due task %s (%s)', entry.name, entry.task)
        try:
            result = self.apply_async(entry, producer=self.producer, advance=False)
        except Exception as exc:
            cause = exc.__cause__ or exc
            if self._is_connection_error(cause):
                self._send_failures += 1
                logger.error('beat: could not send %s (%s): broker unreachable (%r); '
                             'it stays due and will be retried', entry.name, entry.task, cause)
                self._reset_connection()
                return False
            logger.error('Message Error: %s', exc, exc_info=True)
            return True
        self._send_failures = 0
        logger.debug('%s sent. id->%s', entry.task, getattr(result, 'id', None))
        return True

    def apply_entry(self, entry: ScheduleEntry, producer: Producer | None = None) -> None:
        """Send ``entry`` now, logging (not raising) any error."""
        logger.info('Scheduler: Sending due task %s (%s)', entry.name, entry.task)
        try:
            result = self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:
            logger.error('Message Error: %s', exc, exc_info=True)
        else:
            logger.debug('%s sent. id->%s', entry.task, getattr(result, 'id', None))

    def _is_connection_error(self, exc: BaseException) -> bool:
        from kombu.exceptions import OperationalError
        if isinstance(exc, (OperationalError, OSError)):
            return True
        connection = self.__dict__.get('connection')
        if connection is None:
            return False
        return isinstance(exc, connection.connection_errors + connection.channel_errors)

    def adjust(self, n: float, drift: float = -0.010) -> float:
        """Return ``n`` with a small drift, so sleeps wake just before due time."""
        if n and n > 0:
            return n + drift
        return n

    def reserve(self, entry: ScheduleEntry) -> ScheduleEntry:
        """Record that ``entry`` runs now; return its next instance."""
        new_entry = self.schedule[entry.name] = next(entry)
        return new_entry

    def apply_async(self, entry: ScheduleEntry, producer: Producer | None = None,
                    advance: bool = True, **kwargs: Any) -> AsyncResult[Any]:
        """Send the entry's task; raise :exc:`SchedulingError` on failure."""
        # Advance first, so a task that always fails to send is not retried forever.
        entry = self.reserve(entry) if advance else entry
        task = self.app.tasks.get(entry.task)
        try:
            entry_args = _evaluate_entry_args(entry.args)
            entry_kwargs = _evaluate_entry_kwargs(entry.kwargs)
            result: AsyncResult[Any]
            if task:
                result = task.apply_async(entry_args, entry_kwargs, producer=producer,
                                          **entry.options)
            else:
                result = self.send_task(entry.task, entry_args, entry_kwargs,
                                        producer=producer, **entry.options)
            return result
        except Exception as exc:
            raise SchedulingError(f"Couldn't apply scheduled task {entry.name}: {exc}") from exc
        finally:
            self._tasks_since_sync += 1
            if self.should_sync():
                self._do_sync()

    def send_task(self, *args: Any, **kwargs: Any) -> AsyncResult[Any]:
        """Send a task by name through the app."""
        result: AsyncResult[Any] = self.app.send_task(*args, **kwargs)
        return result

    # -- syncing -----------------------------------------------------------

    def should_sync(self) -> bool:
        """Return True when it is time to persist the schedule."""
        return bool(
            (not self._last_sync or (time.monotonic() - self._last_sync) > self.sync_every)
            or (self.sync_every_tasks and self._tasks_since_sync >= self.sync_every_tasks))

    def _do_sync(self) -> None:
        try:
            logger.debug('beat: Synchronizing schedule...')
            self.sync()
        finally:
            self._last_sync = time.monotonic()
            self._tasks_since_sync = 0

    def sync(self) -> None:
        """Persist the schedule (nothing to do for the in-memory scheduler)."""

    def close(self) -> None:
        """Persist and release resources."""
        self.sync()
        self._reset_connection()

    # -- broker connection -------------------------------------------------

    def _ensure_connected(self) -> Any:
        def _error_handler(exc: Exception, interval: float) -> None:
            logger.error('beat: Connection error: %s. Trying again in %s seconds...',
                         exc, interval)
        return self.connection.ensure_connection(
            _error_handler, self.app.conf.broker_connection_max_retries)

    def _reset_connection(self) -> None:
        connection = self.__dict__.pop('connection', None)
        self.__dict__.pop('producer', None)
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # already broken: nothing more to release
                logger.debug('beat: error closing broker connection: %r', exc)

    @cached_property
    def connection(self) -> Connection:
        """The broker connection used to send tasks."""
        connection: Connection = self.app.connection_for_write()
        return connection

    @cached_property
    def producer(self) -> Producer:
        """The producer used to send tasks."""
        make_producer = self.Producer or self.app.amqp.Producer
        producer: Producer = make_producer(self._ensure_connected(), auto_declare=False)
        return producer

    @property
    def info(self) -> str:
        """Extra lines for the start-up banner."""
        return ''

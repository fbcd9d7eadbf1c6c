"""A scheduler thread: runs callbacks at given times (wraps kombu's Timer)."""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING, Any

from kombu.asynchronous.timer import Entry, to_timestamp
from kombu.asynchronous.timer import Timer as Schedule

from celery.utils.log import get_logger

if TYPE_CHECKING:
    from datetime import datetime

    # Other names: inside Timer, ``Entry`` and ``Schedule`` are class attributes.
    from kombu.asynchronous.timer import Entry as _Entry
    from kombu.asynchronous.timer import Timer as _Schedule

__all__ = ('Entry', 'Schedule', 'Timer', 'to_timestamp')

logger = get_logger(__name__)

THREAD_TIMEOUT_MAX = threading.TIMEOUT_MAX

#: How long an idle timer waits before polling its schedule again.
IDLE_WAIT = 1.0

#: When set (environment ``TIMER_DEBUG``), log where each timer thread is started from.
TIMER_DEBUG = os.environ.get('TIMER_DEBUG') or None


class Timer(threading.Thread):
    """Thread that runs the entries of a :class:`kombu.asynchronous.timer.Timer`.

    Unlike a sleeping loop, adding an entry wakes the thread, so an entry
    due sooner than the current wait still runs on time.
    """

    Entry: type[_Entry] = Entry
    Schedule: type[_Schedule] = Schedule

    running = False
    _generation = 0
    on_tick: Callable[[float], object] | None = None
    _timer_count = count(1)

    def __init__(self, schedule: _Schedule | None = None,
                 on_error: Callable[[Exception], object] | None = None,
                 on_tick: Callable[[float], object] | None = None,
                 on_start: Callable[[Timer], object] | None = None,
                 max_interval: float | None = None, **kwargs: Any) -> None:
        self.schedule = schedule or self.Schedule(on_error=on_error, max_interval=max_interval)
        self.on_start = on_start
        self.on_tick = on_tick or self.on_tick
        super().__init__()
        self._is_shutdown = threading.Event()
        self._is_stopped = threading.Event()
        self.mutex = threading.Lock()
        self.not_empty = threading.Condition(self.mutex)
        self.daemon = True
        self.name = f'Timer-{next(self._timer_count)}'

    def run(self) -> None:
        """Apply due entries until stopped."""
        try:
            self.running = True
            self.scheduler = iter(self.schedule)
            while not self._is_shutdown.is_set():
                self._run_once()
            self._is_stopped.set()
        except Exception as exc:  # a dead timer would hang the worker: exit instead
            logger.critical('Thread Timer crashed: %r', exc, exc_info=True)
            sys.stderr.flush()
            os._exit(1)

    def _run_once(self) -> None:
        with self.not_empty:
            generation = self._generation
            delay, entry = next(self.scheduler)
        if entry is not None:
            self.schedule.apply_entry(entry)
            return
        if delay and self.on_tick:
            self.on_tick(delay)
        with self.not_empty:
            # Skip the wait if an entry was added since we looked at the schedule.
            if generation == self._generation and not self._is_shutdown.is_set():
                self.not_empty.wait(IDLE_WAIT if delay is None else delay)

    def stop(self) -> None:
        """Stop the thread and wait for it to finish."""
        self._is_shutdown.set()
        with self.not_empty:
            self.not_empty.notify_all()
        if self.running:
            self._is_stopped.wait(THREAD_TIMEOUT_MAX)
            if self.is_alive() and self is not threading.current_thread():
                self.join(THREAD_TIMEOUT_MAX)
            self.running = False

    def ensure_started(self) -> None:
        """Start the thread unless it already runs."""
        if not self.running and not self.is_alive():
            if TIMER_DEBUG:
                import traceback
                logger.warning('%s started from:\n%s', self.name, ''.join(traceback.format_stack()))
            if self.on_start:
                self.on_start(self)
            self.start()

    def _do_enter(self, meth: str, *args: Any, **kwargs: Any) -> _Entry:
        self.ensure_started()
        with self.mutex:
            entry: _Entry = getattr(self.schedule, meth)(*args, **kwargs)
            self._generation += 1
            self.not_empty.notify()
            return entry

    def enter(self, entry: _Entry, eta: float | datetime | None,
              priority: int | None = None) -> _Entry:
        """Schedule ``entry`` at ``eta``."""
        return self._do_enter('enter_at', entry, eta, priority=priority)

    def enter_at(self, entry: _Entry, eta: float | datetime | None = None,
                 priority: int = 0) -> _Entry:
        """Schedule ``entry`` at ``eta`` (a timestamp or datetime)."""
        return self._do_enter('enter_at', entry, eta, priority=priority)

    def enter_after(self, *args: Any, **kwargs: Any) -> _Entry:
        """Schedule ``entry`` in ``secs`` seconds: ``(secs, entry, priority=0)``."""
        return self._do_enter('enter_after', *args, **kwargs)

    def next(self) -> float | None:
        """Apply the next due entry, if any; return the seconds until one is due (None: nothing waits)."""
        if getattr(self, 'scheduler', None) is None:
            self.scheduler = iter(self.schedule)
        with self.not_empty:
            delay: float | None
            delay, entry = next(self.scheduler)
        if entry is not None:
            self.schedule.apply_entry(entry)
        return delay
    __next__ = next

    def call_at(self, *args: Any, **kwargs: Any) -> _Entry:
        """Call ``fun(*args, **kwargs)`` at ``eta``; return the entry."""
        return self._do_enter('call_at', *args, **kwargs)

    def call_after(self, *args: Any, **kwargs: Any) -> _Entry:
        """Call ``fun(*args, **kwargs)`` in ``secs`` seconds; return the entry."""
        return self._do_enter('call_after', *args, **kwargs)

    apply_after = call_after

    def call_repeatedly(self, *args: Any, **kwargs: Any) -> _Entry:
        """Call ``fun(*args, **kwargs)`` every ``secs`` seconds; return the entry."""
        return self._do_enter('call_repeatedly', *args, **kwargs)

    def exit_after(self, secs: float, priority: int = 10) -> None:
        """Make the timer thread exit the process after ``secs`` seconds."""
        self.call_after(secs, sys.exit, priority=priority)

    def cancel(self, tref: _Entry) -> None:
        """Cancel a scheduled entry."""
        tref.cancel()

    def clear(self) -> None:
        """Remove every scheduled entry."""
        self.schedule.clear()

    def empty(self) -> bool:
        """Return True if nothing is scheduled."""
        return not len(self)

    def __len__(self) -> int:
        return len(self.schedule)

    def __bool__(self) -> bool:
        return True

    @property
    def queue(self) -> list[tuple[float, int, _Entry]]:
        """Snapshot of the scheduled entries, soonest first: ``(eta, priority, entry)``."""
        entries: list[tuple[float, int, _Entry]] = self.schedule.queue
        return entries

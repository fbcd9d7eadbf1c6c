"""Schedule entries: one periodic task each, with its run history."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from celery.exceptions import CeleryError
from celery.schedules import maybe_schedule, schedstate

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.schedules import BaseSchedule

#: What a :class:`BeatLazyFunc`'s function returns.
R = TypeVar('R')

__all__ = ('SchedulingError', 'BeatLazyFunc', 'ScheduleEntry', 'event_t')


class event_t(NamedTuple):
    """A heap item: when an entry is expected to be due."""

    time: float
    priority: int
    entry: ScheduleEntry


class SchedulingError(CeleryError):
    """A scheduled task could not be sent."""


class BeatLazyFunc(Generic[R]):
    """A function in an entry's args/kwargs, called each time the entry is sent."""

    def __init__(self, func: Callable[..., R], *args: Any, **kwargs: Any) -> None:
        self._func = func
        self._func_params = {'args': args, 'kwargs': kwargs}

    def __call__(self) -> R:
        return self.delay()

    def delay(self) -> R:
        """Call the function now and return its value."""
        return self._func(*self._func_params['args'], **self._func_params['kwargs'])


def _evaluate_entry_args(entry_args: Any) -> list[Any]:
    if not entry_args:
        return []
    return [arg() if isinstance(arg, BeatLazyFunc) else arg for arg in entry_args]


def _evaluate_entry_kwargs(entry_kwargs: Any) -> dict[str, Any]:
    if not entry_kwargs:
        return {}
    return {key: value() if isinstance(value, BeatLazyFunc) else value
            for key, value in entry_kwargs.items()}


class ScheduleEntry:
    """One periodic task: what to send, its schedule and when it last ran."""

    name: str | None = None
    schedule: BaseSchedule | float | timedelta | None = None
    args: Sequence[Any] | None = None
    kwargs: Mapping[str, Any] | None = None
    options: Mapping[str, Any] | None = None
    last_run_at: datetime | None = None
    total_run_count: int = 0

    def __init__(self, name: str | None = None, task: str | None = None,
                 last_run_at: datetime | None = None, total_run_count: int | None = None,
                 schedule: BaseSchedule | float | timedelta | None = None,
                 args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None, relative: bool = False,
                 app: Celery | None = None) -> None:
        # Every attribute set here is also a keyword of this method: iterating an
        # entry yields them, and next() rebuilds the entry from exactly those.
        self.app, self.name, self.task = app, name, task
        self.args, self.kwargs, self.options = args, kwargs or {}, options or {}
        self.schedule = maybe_schedule(schedule, relative, app=app)
        # A new entry counts as having just run: its schedule counts from now.
        self.last_run_at = last_run_at or self.default_now()
        self.total_run_count = total_run_count or 0

    def default_now(self) -> datetime:
        """Return the current time by the entry's schedule clock."""
        return self.schedule.now() if self.schedule else self.app.now()

    _default_now = default_now

    def _next_instance(self, last_run_at: datetime | None = None) -> ScheduleEntry:
        """Return the entry as it is after one more run."""
        return self.__class__(**dict(
            self, last_run_at=last_run_at or self.default_now(),
            total_run_count=self.total_run_count + 1))

    __next__ = next = _next_instance

    def __reduce__(self) -> tuple:
        return self.__class__, (self.name, self.task, self.last_run_at, self.total_run_count,
                                self.schedule, self.args, self.kwargs, self.options)

    def update(self, other: ScheduleEntry) -> None:
        """Take the editable fields (task, schedule, args, kwargs, options) from ``other``."""
        self.__dict__.update({'task': other.task, 'schedule': other.schedule,
                              'args': other.args, 'kwargs': other.kwargs,
                              'options': other.options})

    def is_due(self) -> schedstate:
        """Ask the schedule whether a run is due now."""
        return self.schedule.is_due(self.last_run_at)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(vars(self).items())

    def __repr__(self) -> str:
        arguments = [repr(arg) for arg in self.args or ()]
        arguments += [f'{key}={value!r}' for key, value in (self.kwargs or {}).items()]
        call = f'{self.task}({", ".join(arguments)})'
        return f'<{type(self).__name__}: {self.name} {call} {self.schedule}'

    def __lt__(self, other: object) -> bool:
        if isinstance(other, ScheduleEntry):
            # Only used to break ties in the heap: any stable order will do.
            return id(self) < id(other)
        return NotImplemented

    def editable_fields_equal(self, other: ScheduleEntry) -> bool:
        """Return True if task, args, kwargs, options and schedule are equal."""
        return all(getattr(self, attr) == getattr(other, attr)
                   for attr in ('task', 'args', 'kwargs', 'options', 'schedule'))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScheduleEntry):
            return self.editable_fields_equal(other)
        return NotImplemented

    __hash__ = object.__hash__

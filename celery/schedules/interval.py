"""Fixed-interval schedules (``schedule``) and turning numbers into them."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery.schedules.base import BaseSchedule, schedstate
from celery.utils.time import humanize_seconds, localize, maybe_timedelta, remaining

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('schedule', 'maybe_schedule')


class schedule(BaseSchedule):
    """Run at a fixed interval; ``relative`` aligns runs to the interval's unit.

    The interval is elapsed time (a DST change neither stretches nor
    shrinks it).  A relative hourly schedule falls due on the hour of the
    local wall clock, a relative daily one at midnight, and so on.
    """

    #: Plugins (celery-redbeat) read this on the class.
    relative: bool = False

    def __init__(self, run_every: float | timedelta | None = None, relative: bool = False,
                 nowfun: Callable[[], datetime] | None = None,
                 app: Celery | None = None) -> None:
        self.run_every = maybe_timedelta(run_every)
        self.relative = relative
        super().__init__(nowfun=nowfun, app=app)

    def _in_zone(self, dt: datetime) -> datetime:
        # Relative alignment happens on the wall clock of the schedule's zone.
        return localize(self.maybe_make_aware(dt), self.tz)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Return the time left until ``last_run_at + run_every`` (aligned if relative)."""
        return remaining(self._in_zone(last_run_at), self.run_every,
                         self._in_zone(self.now()), self.relative)

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Due once ``run_every`` has elapsed since ``last_run_at``.

        When due, ``next`` is a full interval, or for a relative schedule the
        time to the next aligned boundary (run at 10:59:30, an hourly
        relative schedule is next checked 30 seconds later, at 11:00).
        """
        seconds_left = max(self.remaining_estimate(last_run_at).total_seconds(), 0)
        if seconds_left > 0:
            return schedstate(is_due=False, next=seconds_left)
        if self.relative:
            now = self._in_zone(self.now())
            to_boundary = remaining(now, self.run_every, now, relative=True).total_seconds()
            return schedstate(is_due=True, next=max(to_boundary, 0))
        return schedstate(is_due=True, next=self.seconds)

    def __repr__(self) -> str:
        return f'<freq: {self.human_seconds}>'

    def __eq__(self, other: object) -> bool:
        if isinstance(other, schedule):
            return self.run_every == other.run_every
        return self.run_every == other

    def __hash__(self) -> int:
        return hash(self.run_every)

    def __reduce__(self) -> tuple:
        return self.__class__, (self.run_every, self.relative, self.nowfun)

    @property
    def seconds(self) -> float:
        """The interval in seconds."""
        return max(self.run_every.total_seconds(), 0)

    @property
    def human_seconds(self) -> str:
        """The interval in words (``'10.00 seconds'``)."""
        return humanize_seconds(self.seconds)


def maybe_schedule(s: int | float | timedelta | BaseSchedule | None, relative: bool = False,
                   app: Celery | None = None) -> float | timedelta | BaseSchedule | None:
    """Turn a number of seconds or a timedelta into a :class:`schedule`."""
    if s is None:
        return s
    if isinstance(s, (float, int)):
        s = timedelta(seconds=s)
    if isinstance(s, timedelta):
        return schedule(s, relative, app=app)
    if app is not None:
        s.app = app
    return s

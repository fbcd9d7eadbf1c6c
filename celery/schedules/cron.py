"""Crontab schedules: run at the minutes matched by cron fields, in a time zone."""
from __future__ import annotations

from bisect import bisect_left
from calendar import monthrange
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from celery.schedules.base import BaseSchedule, schedstate
from celery.schedules.cron_parser import (
    CronField,
    ParseException,
    cronfield,
    crontab_parser,
    weekday_parser,
)
from celery.utils.time import (
    add_seconds_to_datetime,
    ffwd,
    instants_at_wall_time,
    localize,
    subtract_datetimes,
)

__all__ = ('crontab', 'CRON_REPR', 'CRON_PATTERN_INVALID', 'CRON_INVALID_TYPE',
           'CRON_INVALID_DATE', 'CRON_DAYS_IN_MONTH')

CRON_REPR = ('<crontab: {0._orig_minute} {0._orig_hour} {0._orig_day_of_week} '
             '{0._orig_day_of_month} {0._orig_month_of_year} (m/h/d/dM/MY)>')
CRON_PATTERN_INVALID = ("Invalid crontab pattern. Valid range is {min}-{max}. "
                        "'{value}' was found.")
CRON_INVALID_TYPE = ('Argument cronspec needs to be of any of the following types: '
                     'int, str, or an iterable type. {type!r} was given.')
CRON_INVALID_DATE = ('Invalid crontab: day_of_month {day_of_month} never occurs in '
                     'month_of_year {month_of_year}, so the schedule could never run.')

#: The most days each month can have (February counts leap years).
CRON_DAYS_IN_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30,
                      7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}

# Any (month, day) pair recurs on every weekday within one 28-year cycle;
# a leap day can take one more cycle when it spans a skipped leap year (2100).
_SEARCH_YEARS = 57

_FIELD_RANGES = {
    # field: (max_, min_) as crontab_parser takes them
    'minute': (60, 0),
    'hour': (24, 0),
    'day_of_week': (7, 0),
    'day_of_month': (31, 1),
    'month_of_year': (12, 1),
}


def _to_naive_wall(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None, second=0, microsecond=0)


def _seconds_between(later: datetime, earlier: datetime) -> float:
    return subtract_datetimes(later, earlier).total_seconds()


def _expand_cronspec(field: str, cronspec: Any) -> set[int]:
    """Expand one field (int, str, or iterable of ints) into a set of ints."""
    max_, min_ = _FIELD_RANGES[field]
    try:
        if isinstance(cronspec, int):
            result = {cronspec}
        elif isinstance(cronspec, str):
            parser = weekday_parser if field == 'day_of_week' else crontab_parser
            result = parser(max_, min_).parse(cronspec)
        elif isinstance(cronspec, Iterable):
            result = set(cronspec)
        else:
            raise ParseException(CRON_INVALID_TYPE.format(type=type(cronspec)))
    except ValueError as exc:
        raise ParseException(f'crontab field {field}={cronspec!r} is invalid: {exc}') from exc
    for number in result:
        if not isinstance(number, int) or not min_ <= number < max_ + min_:
            raise ParseException(f'crontab field {field}={cronspec!r} is invalid: '
                                 + CRON_PATTERN_INVALID.format(min=min_, max=max_ - 1 + min_,
                                                               value=number))
    return result


class crontab(BaseSchedule):
    """Run at the times matched by cron fields, in the schedule's time zone.

    A time matches when its minute, hour, day of month, month and day of
    week are all in the selected sets.  Run times that do not exist on a
    daylight-saving change run once at the first instant after the gap;
    repeated wall-clock times run once.  ``tz`` (a keyword, or set later)
    overrides the app's time zone for this schedule.
    """

    def __init__(self, minute: CronField | None = '*', hour: CronField | None = '*',
                 day_of_week: CronField | None = '*', day_of_month: CronField | None = '*',
                 month_of_year: CronField | None = '*', **kwargs: Any) -> None:
        self._orig_minute = cronfield(minute)
        self._orig_hour = cronfield(hour)
        self._orig_day_of_week = cronfield(day_of_week)
        self._orig_day_of_month = cronfield(day_of_month)
        self._orig_month_of_year = cronfield(month_of_year)
        self._orig_kwargs = {k: v for k, v in kwargs.items() if k != 'app'}
        self.minute = _expand_cronspec('minute', self._orig_minute)
        self.hour = _expand_cronspec('hour', self._orig_hour)
        self.day_of_week = _expand_cronspec('day_of_week', self._orig_day_of_week)
        self.day_of_month = _expand_cronspec('day_of_month', self._orig_day_of_month)
        self.month_of_year = _expand_cronspec('month_of_year', self._orig_month_of_year)
        self._prepare_search()
        tz = kwargs.pop('tz', None)
        super().__init__(**kwargs)
        # A subclass may have set its zone before calling us (django-celery-beat).
        if tz is not None:
            self.tz = tz

    @classmethod
    def from_string(cls, crontab: str) -> crontab:
        """Build from a cron line: ``'minute hour day_of_month month_of_year day_of_week'``."""
        fields = crontab.split()
        if len(fields) != 5:
            raise ValueError(f'invalid crontab string {crontab!r}: expected 5 fields '
                             '"minute hour day_of_month month_of_year day_of_week"')
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        return cls(minute=minute, hour=hour, day_of_week=day_of_week,
                   day_of_month=day_of_month, month_of_year=month_of_year)

    def _prepare_search(self) -> None:
        self._minutes = sorted(self.minute)
        self._hours = sorted(self.hour)
        self._days = sorted(self.day_of_month)
        self._months = sorted(self.month_of_year)
        if not all((self._minutes, self._hours, self._days, self._months, self.day_of_week)):
            raise ParseException(f'{self!r} has an empty field and can never run')
        if not any(day <= CRON_DAYS_IN_MONTH[m] for m in self._months for day in self._days):
            raise ParseException(CRON_INVALID_DATE.format(
                day_of_month=self._orig_day_of_month, month_of_year=self._orig_month_of_year))

    def _next_wall_time(self, after: datetime) -> datetime:
        """Return the first matching naive wall-clock minute strictly after ``after``."""
        start = _to_naive_wall(after) + timedelta(minutes=1)
        for year in range(start.year, start.year + _SEARCH_YEARS):
            for mon in self._months:
                if (year, mon) < (start.year, start.month):
                    continue
                found = self._first_in_month(year, mon, start)
                if found is not None:
                    return found
        # Only a leap day on a weekday it cannot fall on gets here.
        raise ParseException(f'{self!r} matches no date within {_SEARCH_YEARS} years')

    def _first_in_month(self, year: int, mon: int, start: datetime) -> datetime | None:
        last_day = monthrange(year, mon)[1]
        same_month = (year, mon) == (start.year, start.month)
        first_day = start.day if same_month else 1
        for day in self._days[bisect_left(self._days, first_day):]:
            if day > last_day:
                return None
            if date(year, mon, day).isoweekday() % 7 not in self.day_of_week:
                continue
            same_day = same_month and day == start.day
            found = self._first_in_day(year, mon, day, start if same_day else None)
            if found is not None:
                return found
        return None

    def _first_in_day(self, year: int, mon: int, day: int,
                      start: datetime | None) -> datetime | None:
        min_hour = start.hour if start else 0
        for hour in self._hours[bisect_left(self._hours, min_hour):]:
            min_minute = start.minute if start and hour == start.hour else 0
            index = bisect_left(self._minutes, min_minute)
            if index < len(self._minutes):
                return datetime(year, mon, day, hour, self._minutes[index])
        return None

    def next_run_after(self, last_run_at: datetime) -> datetime:
        """Return the aware time of the first run strictly after ``last_run_at``."""
        tz = last_run_at.tzinfo
        wall = last_run_at.replace(tzinfo=None)
        while True:
            wall = self._next_wall_time(wall)
            for candidate in instants_at_wall_time(wall, tz):
                if _seconds_between(candidate, last_run_at) > 0:
                    return candidate

    def _in_zone(self, dt: datetime) -> datetime:
        return self.to_local(localize(self.maybe_make_aware(dt), self.tz))

    def _local_times(self, last_run_at: datetime) -> tuple[datetime, datetime]:
        last = self._in_zone(last_run_at)
        return last, localize(self._in_zone(self.now()), last.tzinfo)

    def remaining_delta(self, last_run_at: datetime, tz: tzinfo | None = None,
                        ffwd: type[ffwd] = ffwd) -> tuple[datetime, Any, datetime]:
        """Return ``(last_run_at, delta, now)`` where ``last_run_at + delta`` is the next run."""
        last, now = self._local_times(last_run_at)
        nxt = self.next_run_after(last)
        delta = ffwd(year=nxt.year, month=nxt.month, day=nxt.day, hour=nxt.hour,
                     minute=nxt.minute, second=0, microsecond=0)
        return last, delta, now

    def remaining_estimate(self, last_run_at: datetime, ffwd: type[ffwd] = ffwd) -> timedelta:
        """Return the time left until the first run after ``last_run_at``."""
        last, now = self._local_times(last_run_at)
        return subtract_datetimes(self.next_run_after(last), now)

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Due when a matching time has passed since ``last_run_at``; ``next`` is the time to the next run.

        With ``beat_cron_starting_deadline`` set, a run missed by more than
        that many seconds of elapsed time (e.g. while beat was down) is
        skipped; one missed by exactly the deadline still runs.
        """
        last, now = self._local_times(last_run_at)
        seconds_left = _seconds_between(self.next_run_after(last), now)
        if seconds_left > 0:
            return schedstate(is_due=False, next=seconds_left)
        deadline = self._starting_deadline()
        if deadline is not None and not self._ran_within(last, now, deadline):
            return schedstate(is_due=False, next=self._seconds_until_next(now))
        return schedstate(is_due=True, next=self._seconds_until_next(now))

    def _starting_deadline(self) -> float | None:
        # Attribute access, as Celery does: tests of schedulers built on this
        # (django-celery-beat) give a mock app with only that attribute set.
        try:
            return self.app.conf.beat_cron_starting_deadline
        except (AttributeError, KeyError):
            return None

    def _ran_within(self, last: datetime, now: datetime, deadline: float) -> bool:
        """Whether a run time after ``last`` falls in the ``deadline`` seconds before ``now``."""
        # Search from just before the window so a run exactly at its start counts.
        window_opens = add_seconds_to_datetime(now, -deadline - 1e-6)
        search_from = max(last, window_opens, key=lambda dt: subtract_datetimes(dt, now))
        return _seconds_between(self.next_run_after(search_from), now) <= 0

    def _seconds_until_next(self, now: datetime) -> float:
        return max(_seconds_between(self.next_run_after(now), now), 0)

    def __repr__(self) -> str:
        return CRON_REPR.format(self)

    def __reduce__(self) -> tuple:
        return (self.__class__, (self._orig_minute, self._orig_hour, self._orig_day_of_week,
                                 self._orig_day_of_month, self._orig_month_of_year),
                self._orig_kwargs)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # The state is the constructor keywords (nowfun, tz) from __reduce__.
        BaseSchedule.__init__(self, nowfun=state.get('nowfun'))
        self.tz = state.get('tz')

    def __eq__(self, other: object) -> bool:
        if isinstance(other, crontab):
            return (other.month_of_year == self.month_of_year
                    and other.day_of_month == self.day_of_month
                    and other.day_of_week == self.day_of_week
                    and other.hour == self.hour
                    and other.minute == self.minute)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((frozenset(self.minute), frozenset(self.hour), frozenset(self.day_of_week),
                     frozenset(self.day_of_month), frozenset(self.month_of_year)))

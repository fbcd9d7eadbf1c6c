"""Schedules for periodic tasks: fixed intervals, crontab and solar events."""
from __future__ import annotations

import re
from bisect import bisect_left
from calendar import monthrange
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, NamedTuple

from celery.utils.time import (
    ffwd,
    humanize_seconds,
    localize,
    maybe_make_aware,
    maybe_timedelta,
    month,
    remaining,
    timezone,
    weekday,
)

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = (
    'ParseException', 'schedule', 'crontab', 'crontab_parser',
    'maybe_schedule', 'solar', 'BaseSchedule', 'cronfield', 'schedstate',
)

CRON_REPR = ('<crontab: {0._orig_minute} {0._orig_hour} {0._orig_day_of_week} '
             '{0._orig_day_of_month} {0._orig_month_of_year} (m/h/d/dM/MY)>')
SOLAR_REPR = '<solar: {0.event} at latitude {0.lat}, longitude: {0.lon}>'

# Any (month, day) pair recurs on every weekday within one 28-year cycle.
_SEARCH_YEARS = 29


class schedstate(NamedTuple):
    """Answer of ``is_due``: whether to run now, and seconds until the next check."""

    is_due: bool
    next: float


class ParseException(ValueError):
    """A crontab field could not be parsed."""


def cronfield(s: Any) -> Any:
    """Return ``'*'`` for an unset crontab field."""
    return '*' if s is None else s


class BaseSchedule:
    """Common base of schedules: clock, app and time zone handling."""

    def __init__(self, nowfun: Callable[[], datetime] | None = None,
                 app: Celery | None = None) -> None:
        self.nowfun = nowfun
        self._app = app

    def now(self) -> datetime:
        """Return the current time in the app's time zone."""
        return (self.nowfun or self.app.now)()

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Return the time left until the next run after ``last_run_at``."""
        raise NotImplementedError('schedules must implement remaining_estimate')

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Return whether a run is due and how many seconds until the next check."""
        raise NotImplementedError('schedules must implement is_due')

    def maybe_make_aware(self, dt: datetime, naive_as_utc: bool = True) -> datetime:
        """Make ``dt`` aware and convert it to the app's time zone."""
        return maybe_make_aware(dt, self.tz, naive_as_utc=naive_as_utc)

    def to_local(self, dt: datetime) -> datetime:
        """Convert ``dt`` to the local zone when UTC is disabled."""
        if not self.utc_enabled:
            return timezone.to_local_fallback(dt)
        return dt

    @property
    def app(self) -> Celery:
        """The app this schedule belongs to (the current app if unset)."""
        if self._app is not None:
            return self._app
        from celery._state import current_app
        return current_app._get_current_object()

    @app.setter
    def app(self, app: Celery | None) -> None:
        self._app = app

    @property
    def tz(self) -> tzinfo:
        """The app's time zone."""
        return self.app.timezone

    @property
    def utc_enabled(self) -> bool:
        """Whether the app has ``enable_utc`` set."""
        return self.app.conf.enable_utc

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BaseSchedule):
            return other.nowfun == self.nowfun
        return NotImplemented

    __hash__ = object.__hash__


class schedule(BaseSchedule):
    """Run at a fixed interval (``relative`` rounds run times to the interval's unit)."""

    def __init__(self, run_every: float | timedelta | None = None, relative: bool = False,
                 nowfun: Callable[[], datetime] | None = None,
                 app: Celery | None = None) -> None:
        self.run_every = maybe_timedelta(run_every)
        self.relative = relative
        super().__init__(nowfun=nowfun, app=app)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Return the time left until ``last_run_at + run_every``."""
        return remaining(self.maybe_make_aware(last_run_at), self.run_every,
                         self.maybe_make_aware(self.now()), self.relative)

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Due once ``run_every`` has elapsed since ``last_run_at``."""
        seconds_left = max(self.remaining_estimate(last_run_at).total_seconds(), 0)
        if seconds_left == 0:
            return schedstate(is_due=True, next=self.seconds)
        return schedstate(is_due=False, next=seconds_left)

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


class crontab_parser:
    """Parse one crontab field into the set of values it selects.

    ``crontab_parser(60).parse('*/15')`` is ``{0, 15, 30, 45}``; the field
    accepts ``*``, numbers, names (``mon``, ``jan``), ranges ``a-b`` (wrapping,
    as in ``fri-mon``), steps ``*/n``, ``a-b/n`` and ``a/n``, and lists of these.
    """

    ParseException = ParseException

    _range = r'(\w+?)-(\w+)'
    _steps = r'/(\w+)?'
    _star = r'\*'

    def __init__(self, max_: int = 60, min_: int = 0) -> None:
        self.max_ = max_
        self.min_ = min_
        self.pats = (
            (re.compile(f'^{self._range}{self._steps}$'), self._range_steps),
            (re.compile(f'^{self._range}$'), self._expand_range),
            (re.compile(f'^{self._star}{self._steps}$'), self._star_steps),
            (re.compile(f'^{self._star}$'), self._expand_star),
            (re.compile(rf'^(\w+){self._steps}$'), self._start_steps),
        )

    def parse(self, spec: str) -> set[int]:
        """Return the set of values selected by ``spec``."""
        acc: set[int] = set()
        for part in spec.split(','):
            if not part:
                raise self.ParseException(f'empty part in {spec!r}')
            acc |= set(self._parse_part(part.strip()))
        return acc

    def _parse_part(self, part: str) -> list[int]:
        for regex, handler in self.pats:
            match = regex.match(part)
            if match:
                return handler(match.groups())
        return self._expand_range((part,))

    def _expand_range(self, toks: tuple[str, ...]) -> list[int]:
        fr = self._expand_number(toks[0])
        if len(toks) == 1:
            return [fr]
        to = self._expand_number(toks[1])
        if to < fr:  # wrap around, e.g. fri-mon
            return list(range(fr, self.min_ + self.max_)) + list(range(self.min_, to + 1))
        return list(range(fr, to + 1))

    def _step(self, token: str | None) -> int:
        if not token:
            raise self.ParseException('empty filter: a step needs a number after /')
        step = self._expand_number(token, check_bounds=False)
        if step < 1:
            raise self.ParseException(f'step must be at least 1, not {token!r}')
        return step

    def _range_steps(self, toks: tuple[str, ...]) -> list[int]:
        return self._expand_range(toks[:2])[::self._step(toks[2])]

    def _star_steps(self, toks: tuple[str, ...]) -> list[int]:
        return self._expand_star()[::self._step(toks[0])]

    def _start_steps(self, toks: tuple[str, ...]) -> list[int]:
        start = self._expand_number(toks[0])
        return list(range(start, self.min_ + self.max_, self._step(toks[1])))

    def _expand_star(self, *args: Any) -> list[int]:
        return list(range(self.min_, self.max_ + self.min_))

    def _expand_number(self, s: str, check_bounds: bool = True) -> int:
        if s.startswith('-'):
            raise self.ParseException(f'negative numbers not supported: {s!r}')
        try:
            number = int(s)
        except ValueError:
            number = self._expand_name(s)
        if not check_bounds:
            return number
        max_val = self.min_ + self.max_ - 1
        if number > max_val:
            raise self.ParseException(f'invalid end of range: {number} > {max_val}')
        if number < self.min_:
            raise self.ParseException(f'invalid beginning of range: {number} < {self.min_}')
        return number

    def _expand_name(self, s: str) -> int:
        for lookup in (month, weekday):
            try:
                return lookup(s)
            except KeyError:
                pass
        raise self.ParseException(f'invalid weekday or month name {s!r}')


def _to_naive_wall(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None, second=0, microsecond=0)


class _weekday_parser(crontab_parser):
    """Day-of-week parser that also takes cron's 7 for Sunday."""

    def _expand_number(self, s: str, check_bounds: bool = True) -> int:
        if s == '7':
            return 7
        return super()._expand_number(s, check_bounds)

    def _expand_name(self, s: str) -> int:
        try:
            return weekday(s)
        except KeyError:
            raise self.ParseException(f'invalid weekday name {s!r}') from None


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)


def _seconds_between(later: datetime, earlier: datetime) -> float:
    # Aware datetimes sharing a tzinfo subtract as wall clocks: go through UTC.
    return (_utc(later) - _utc(earlier)).total_seconds()


def _attach_zone(wall: datetime, tz: tzinfo, fold: int) -> datetime:
    localize_with = getattr(tz, 'localize', None)
    if localize_with is not None:  # pytz zones
        return localize_with(wall, is_dst=fold == 0)
    return wall.replace(tzinfo=tz, fold=fold)


class crontab(BaseSchedule):
    """Run at the times matched by cron fields, in the app's time zone.

    A time matches when its minute, hour, day of month, month and day of
    week are all in the selected sets.  Run times that do not exist on a
    daylight-saving change run once at the first instant after the gap;
    repeated wall-clock times run once.
    """

    _FIELDS = (
        # (attribute, max_, min_)
        ('minute', 60, 0),
        ('hour', 24, 0),
        ('day_of_week', 7, 0),
        ('day_of_month', 31, 1),
        ('month_of_year', 12, 1),
    )

    def __init__(self, minute: Any = '*', hour: Any = '*', day_of_week: Any = '*',
                 day_of_month: Any = '*', month_of_year: Any = '*', **kwargs: Any) -> None:
        self._orig_minute = cronfield(minute)
        self._orig_hour = cronfield(hour)
        self._orig_day_of_week = cronfield(day_of_week)
        self._orig_day_of_month = cronfield(day_of_month)
        self._orig_month_of_year = cronfield(month_of_year)
        self._orig_kwargs = {k: v for k, v in kwargs.items() if k != 'app'}
        self.minute = self._expand_cronspec('minute', minute, 60)
        self.hour = self._expand_cronspec('hour', hour, 24)
        self.day_of_week = self._expand_cronspec('day_of_week', day_of_week, 7)
        self.day_of_month = self._expand_cronspec('day_of_month', day_of_month, 31, 1)
        self.month_of_year = self._expand_cronspec('month_of_year', month_of_year, 12, 1)
        self._prepare_search()
        super().__init__(**kwargs)

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

    @staticmethod
    def _expand_cronspec(field: str, cronspec: Any, max_: int, min_: int = 0) -> set[int]:
        """Expand one field (int, str, or iterable of ints) into a set of ints."""
        try:
            if isinstance(cronspec, int):
                result = {cronspec}
            elif isinstance(cronspec, str):
                parser = _weekday_parser if field == 'day_of_week' else crontab_parser
                result = parser(max_, min_).parse(cronspec)
            elif isinstance(cronspec, Iterable):
                result = set(cronspec)
            else:
                raise ParseException(f'must be an int, a string or a set, not {type(cronspec).__name__}')
        except ValueError as exc:
            raise ParseException(f'crontab field {field}={cronspec!r} is invalid: {exc}') from exc
        if field == 'day_of_week' and 7 in result:  # cron allows 7 for Sunday
            result = (result - {7}) | {0}
        for number in result:
            if not isinstance(number, int) or number >= max_ + min_ or number < min_:
                raise ParseException(
                    f'crontab field {field}={cronspec!r} is invalid: {number!r} is outside '
                    f'{min_}-{max_ - 1 + min_}')
        return result

    def _prepare_search(self) -> None:
        self._minutes = sorted(self.minute)
        self._hours = sorted(self.hour)
        self._days = sorted(self.day_of_month)
        self._months = sorted(self.month_of_year)
        if not all((self._minutes, self._hours, self._days, self._months, self.day_of_week)):
            raise ParseException(f'{self!r} has an empty field and can never run')
        longest = {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}
        if not any(day <= longest.get(m, 31) for m in self._months for day in self._days):
            raise ParseException(f'{self!r} never runs: no month in month_of_year has '
                                 f'day {min(self._days)}')

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
            for fold in (0, 1):
                candidate = _attach_zone(wall, tz, fold)
                if _seconds_between(candidate, last_run_at) > 0:
                    return candidate

    def _local_times(self, last_run_at: datetime) -> tuple[datetime, datetime]:
        last = self.to_local(self.maybe_make_aware(last_run_at))
        now = self.to_local(self.maybe_make_aware(self.now()))
        return last, localize(now, last.tzinfo)

    def remaining_delta(self, last_run_at: datetime, tz: tzinfo | None = None,
                        ffwd: type[ffwd] = ffwd) -> tuple[datetime, ffwd, datetime]:
        """Return ``(last_run_at, delta, now)`` where ``last_run_at + delta`` is the next run."""
        last, now = self._local_times(last_run_at)
        nxt = self.next_run_after(last)
        delta = ffwd(year=nxt.year, month=nxt.month, day=nxt.day, hour=nxt.hour,
                     minute=nxt.minute, second=0, microsecond=0)
        return last, delta, now

    def remaining_estimate(self, last_run_at: datetime, ffwd: type[ffwd] = ffwd) -> timedelta:
        """Return the time left until the first run after ``last_run_at``."""
        last, now = self._local_times(last_run_at)
        return timedelta(seconds=_seconds_between(self.next_run_after(last), now))

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Due when a matching time has passed since ``last_run_at``.

        With ``beat_cron_starting_deadline`` set, a run missed by more than
        that many seconds (e.g. while beat was down) is skipped.
        """
        last, now = self._local_times(last_run_at)
        seconds_left = _seconds_between(self.next_run_after(last), now)
        if seconds_left > 0:
            return schedstate(is_due=False, next=seconds_left)
        deadline = self.app.conf.get('beat_cron_starting_deadline')
        if deadline is not None:
            window_start = max(last, now - timedelta(seconds=deadline), key=_utc)
            if _seconds_between(self.next_run_after(window_start), now) > 0:
                return schedstate(is_due=False, next=self._seconds_until_next(now))
        return schedstate(is_due=True, next=self._seconds_until_next(now))

    def _seconds_until_next(self, now: datetime) -> float:
        return max(_seconds_between(self.next_run_after(now), now), 0)

    def __repr__(self) -> str:
        return CRON_REPR.format(self)

    def __reduce__(self) -> tuple:
        return (self.__class__, (self._orig_minute, self._orig_hour, self._orig_day_of_week,
                                 self._orig_day_of_month, self._orig_month_of_year),
                self._orig_kwargs)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Keep the state dict for pickles written by older releases.
        BaseSchedule.__init__(self, **{k: v for k, v in state.items() if k == 'nowfun'})

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


def maybe_schedule(s: Any, relative: bool = False, app: Celery | None = None) -> Any:
    """Turn a number of seconds or a timedelta into a :class:`schedule`."""
    if s is not None:
        if isinstance(s, (float, int)):
            s = timedelta(seconds=s)
        if isinstance(s, timedelta):
            return schedule(s, relative, app=app)
        if app is not None:
            s.app = app
    return s

class solar(BaseSchedule):
    """Run at a solar event (sunrise, sunset, dawn, dusk...) at a place on Earth.

    Needs the optional ``ephem`` package.
    """

    _all_events = {
        'dawn_astronomical', 'dawn_nautical', 'dawn_civil', 'sunrise', 'solar_noon',
        'sunset', 'dusk_civil', 'dusk_nautical', 'dusk_astronomical',
    }
    # Degrees of the sun's center below the horizon for each event.
    _horizons = {
        'dawn_astronomical': '-18', 'dawn_nautical': '-12', 'dawn_civil': '-6',
        'sunrise': '-0:34', 'solar_noon': '0', 'sunset': '-0:34',
        'dusk_civil': '-6', 'dusk_nautical': '-12', 'dusk_astronomical': '-18',
    }
    _methods = {
        'dawn_astronomical': 'next_rising', 'dawn_nautical': 'next_rising',
        'dawn_civil': 'next_rising', 'sunrise': 'next_rising',
        'solar_noon': 'next_transit', 'sunset': 'next_setting',
        'dusk_civil': 'next_setting', 'dusk_nautical': 'next_setting',
        'dusk_astronomical': 'next_setting',
    }
    _use_center_l = {
        'dawn_astronomical': True, 'dawn_nautical': True, 'dawn_civil': True,
        'sunrise': False, 'solar_noon': False, 'sunset': False,
        'dusk_civil': True, 'dusk_nautical': True, 'dusk_astronomical': True,
    }

    def __init__(self, event: str, lat: float, lon: float, **kwargs: Any) -> None:
        self.ephem = _import_ephem()
        self.event = event
        self.lat = lat
        self.lon = lon
        super().__init__(**kwargs)
        if event not in self._all_events:
            raise ValueError(f'solar event {event!r} is not one of: '
                             f'{", ".join(sorted(self._all_events))}')
        if not -90 <= lat <= 90:
            raise ValueError(f'solar latitude {lat!r} must be between -90 and 90')
        if not -180 <= lon <= 180:
            raise ValueError(f'solar longitude {lon!r} must be between -180 and 180')
        self.cal = self.ephem.Observer()
        self.cal.lat = str(lat)
        self.cal.lon = str(lon)
        self.cal.elev = 0
        self.cal.horizon = self._horizons[event]
        self.cal.pressure = 0
        self.method = self._methods[event]
        self.use_center = self._use_center_l[event]

    def __reduce__(self) -> tuple:
        return self.__class__, (self.event, self.lat, self.lon)

    def __repr__(self) -> str:
        return SOLAR_REPR.format(self)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Return the time left until the event next happens after ``last_run_at``."""
        start = localize(self.maybe_make_aware(last_run_at), timezone.utc).replace(tzinfo=None)
        self.cal.date = start
        sun = self.ephem.Sun()
        find_next = getattr(self.cal, self.method)
        try:
            if self.use_center:
                next_event = find_next(sun, start=start, use_center=True)
            else:
                next_event = find_next(sun, start=start)
        except self.ephem.CircumpolarError:
            # The sun neither rises nor sets here today: look again tomorrow.
            next_event = self.ephem.Date(self.cal.next_antitransit(sun) + self.ephem.minute)
        next_utc = self.maybe_make_aware(next_event.datetime())
        return timedelta(seconds=_seconds_between(next_utc, self.maybe_make_aware(self.now())))

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Due once the event has happened since ``last_run_at``."""
        seconds_left = max(self.remaining_estimate(last_run_at).total_seconds(), 0)
        if seconds_left == 0:
            return schedstate(True, max(self.remaining_estimate(self.now()).total_seconds(), 0))
        return schedstate(False, seconds_left)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, solar):
            return (other.event, other.lat, other.lon) == (self.event, self.lat, self.lon)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.event, self.lat, self.lon))


def _import_ephem() -> Any:
    try:
        import ephem
    except ImportError as exc:
        from celery.exceptions import ImproperlyConfigured
        raise ImproperlyConfigured(
            'solar schedules need the optional "ephem" package: pip install ephem') from exc
    return ephem

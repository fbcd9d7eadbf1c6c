"""Time zones, durations, rates and other date/time helpers."""
from __future__ import annotations

import os
import random
import time as _time
from calendar import monthrange
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from datetime import timezone as datetime_timezone
from functools import cached_property
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from celery.utils.iso8601 import parse_iso8601
from celery.utils.log import get_logger

__all__ = (
    'LocalTimezone', 'timezone', 'maybe_timedelta', 'delta_resolution',
    'remaining', 'rate', 'weekday', 'humanize_seconds', 'maybe_iso8601',
    'is_naive', 'make_aware', 'localize', 'to_utc', 'maybe_make_aware',
    'ffwd', 'utcoffset', 'adjust_timestamp', 'get_exponential_backoff_interval',
    'isoformat', 'DAYNAMES', 'WEEKDAYS', 'MONTHNAMES', 'RATE_MODIFIER_MAP',
    'add_seconds_to_datetime', 'subtract_datetimes',
)

#: Log how ``remaining()`` computed its answer (set the ``C_REMDEBUG`` env var).
C_REMDEBUG = bool(os.environ.get('C_REMDEBUG'))

ZERO = timedelta(0)

logger = get_logger(__name__)

DAYNAMES = 'sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'
WEEKDAYS = {name: index for index, name in enumerate(DAYNAMES)}

MONTHNAMES = ('jan', 'feb', 'mar', 'apr', 'may', 'jun',
              'jul', 'aug', 'sep', 'oct', 'nov', 'dec')
YEARMONTHS = {name: number for number, name in enumerate(MONTHNAMES, 1)}

D = TypeVar('D', bound=date)

RATE_MODIFIER_MAP: dict[str, Callable[[float], float]] = {
    's': lambda n: n,
    'm': lambda n: n / 60.0,
    'h': lambda n: n / 60.0 / 60.0,
}

TIME_UNITS = (
    ('day', 60 * 60 * 24.0),
    ('hour', 60 * 60.0),
    ('minute', 60.0),
    ('second', 1.0),
)


class LocalTimezone(tzinfo):
    """The system's local time zone, as reported by the C library."""

    def __init__(self) -> None:
        self.STDOFFSET = timedelta(seconds=-_time.timezone)
        self.DSTOFFSET = (timedelta(seconds=-_time.altzone) if _time.daylight
                          else self.STDOFFSET)
        self.DSTDIFF = self.DSTOFFSET - self.STDOFFSET
        super().__init__()

    def __repr__(self) -> str:
        hours = int(self.DSTOFFSET.total_seconds() / 3600)
        return f'<LocalTimezone: UTC{hours:+03d}>'

    def utcoffset(self, dt: datetime | None) -> timedelta:
        """Offset from UTC at ``dt`` (DST aware)."""
        return self.DSTOFFSET if self._isdst(dt) else self.STDOFFSET

    def dst(self, dt: datetime | None) -> timedelta:
        """Daylight saving adjustment at ``dt``."""
        return self.DSTDIFF if self._isdst(dt) else ZERO

    def tzname(self, dt: datetime | None) -> str:
        """Name of the local zone at ``dt``."""
        return _time.tzname[self._isdst(dt)]

    def fromutc(self, dt: datetime) -> datetime:
        # The C library knows the rules: ask it what local time this instant is.
        """Convert the UTC time ``dt`` to local time."""
        stamp = (dt.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds()
        local = datetime.fromtimestamp(stamp)
        return local.replace(tzinfo=self)

    def _isdst(self, dt: datetime | None) -> bool:
        if dt is None:
            return False
        fields = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second,
                  dt.weekday(), 0, -1)
        return _time.localtime(_time.mktime(fields)).tm_isdst > 0


class _Zone:
    """Time zone conversions between UTC, the local zone and named zones."""

    def tz_or_local(self, tzinfo: tzinfo | str | None = None) -> tzinfo:
        """Return ``tzinfo`` as a tzinfo object, or the local zone when None."""
        if tzinfo is None:
            return self.local
        return self.get_timezone(tzinfo)

    def to_local(self, dt: datetime, local: tzinfo | str | None = None,
                 orig: tzinfo | None = None) -> datetime:
        """Convert ``dt`` to ``local`` (naive values are taken as ``orig``, UTC by default)."""
        if is_naive(dt):
            dt = make_aware(dt, orig or self.utc)
        return localize(dt, self.tz_or_local(local))

    def to_system(self, dt: datetime) -> datetime:
        """Convert an aware datetime to the system's local time."""
        return dt.astimezone(tz=None)

    def to_local_fallback(self, dt: datetime) -> datetime:
        """Convert to the local zone, taking naive values as already local."""
        if is_naive(dt):
            return make_aware(dt, self.local)
        return localize(dt, self.local)

    def get_timezone(self, zone: tzinfo | str) -> tzinfo:
        """Return the tzinfo for a zone name (tzinfo objects pass through)."""
        if isinstance(zone, str):
            if zone.upper() == 'UTC':
                return self.utc
            return ZoneInfo(zone)
        return zone

    @cached_property
    def local(self) -> LocalTimezone:
        """The system's local time zone."""
        return LocalTimezone()

    @property
    def utc(self) -> tzinfo:
        """The UTC time zone."""
        return datetime_timezone.utc


timezone = _Zone()


def maybe_timedelta(delta: int | float | timedelta) -> timedelta:
    """Convert a number of seconds to a :class:`~datetime.timedelta`."""
    if isinstance(delta, (int, float)):
        return timedelta(seconds=delta)
    return delta


def delta_resolution(dt: datetime, delta: timedelta) -> datetime:
    """Round ``dt`` down to the resolution of ``delta`` (days, hours, minutes or seconds)."""
    seconds = max(delta.total_seconds(), 0)
    args = dt.year, dt.month, dt.day
    if seconds >= 86400:
        return datetime(*args, tzinfo=dt.tzinfo)
    if seconds >= 3600:
        return datetime(*args, dt.hour, tzinfo=dt.tzinfo)
    if seconds >= 60:
        return datetime(*args, dt.hour, dt.minute, tzinfo=dt.tzinfo)
    return dt


def instants_at_wall_time(wall: datetime, tz: tzinfo) -> list[datetime]:
    """Return the aware instants a clock in ``tz`` shows the naive ``wall`` time, earliest first.

    Two in a DST fold; in a DST gap (the wall time never shows) the one
    instant read with the offset in force before the change, which for a
    gap's first minute is the first instant after the gap.
    """
    readings = sorted({_read_wall(wall, tz, fold).astimezone(datetime_timezone.utc)
                       for fold in (0, 1)})
    shown = [localize(instant, tz) for instant in readings]
    real = [aware for aware in shown if aware.replace(tzinfo=None) == wall]
    return real or shown[-1:]


def _read_wall(wall: datetime, tz: tzinfo, fold: int) -> datetime:
    localize_with = getattr(tz, 'localize', None)
    if localize_with is not None:  # pytz: is_dst picks the reading in a fold or gap
        reading: datetime = localize_with(wall, is_dst=fold == 0)
        return reading
    return wall.replace(tzinfo=tz, fold=fold)


def _align_down(end: datetime, interval: timedelta) -> datetime:
    """Round ``end`` down to the unit of ``interval`` on its own wall clock."""
    wall = delta_resolution(end.replace(tzinfo=None), interval).replace(microsecond=0)
    if is_naive(end) or end.tzinfo is None:
        return wall
    candidates = instants_at_wall_time(wall, end.tzinfo)
    # In a fold, the later reading that is not after ``end`` itself.
    not_after = [aware for aware in candidates if subtract_datetimes(end, aware) >= ZERO]
    return (not_after or candidates)[-1]


def remaining(start: datetime, ends_in: timedelta | ffwd, now: datetime | None = None,
              relative: bool = False) -> timedelta:
    """Return the time left from ``now`` until ``start + ends_in``.

    ``ends_in`` is elapsed time, even across a DST change.  With
    ``relative`` the end is rounded down to the unit of ``ends_in`` on the
    wall clock of ``start`` (an hourly interval falls due on the hour).
    """
    now = now or datetime.now(datetime_timezone.utc)
    if isinstance(ends_in, ffwd):
        end_date = start + ends_in  # a calendar step: wall-clock arithmetic is the point
    else:
        end_date = add_seconds_to_datetime(start, ends_in.total_seconds())
        if relative:
            end_date = _align_down(end_date, ends_in)
    left = subtract_datetimes(end_date, now)
    if C_REMDEBUG:
        logger.debug('remaining: start=%s ends_in=%s end=%s now=%s left=%s',
                     start, ends_in, end_date, now, left)
    return left


def rate(r: str | int | float | None) -> float:
    """Parse a rate string (``'100/m'``, ``'10/s'``, ``'1000/h'``) into tasks per second."""
    if not r:
        return 0
    if isinstance(r, str):
        ops, _, modifier = r.partition('/')
        modifier = modifier or 's'
        if modifier not in RATE_MODIFIER_MAP:
            raise ValueError(f'invalid rate {r!r}: unit must be s, m or h')
        return RATE_MODIFIER_MAP[modifier](float(ops) or 0)
    return r or 0


def weekday(name: str) -> int:
    """Return the position of a weekday name: ``sun`` is 0, ``sat`` is 6."""
    abbreviation = name[:3].lower()
    try:
        return WEEKDAYS[abbreviation]
    except KeyError:
        raise KeyError(name) from None


def yearmonth(name: str) -> int:
    """Return the number of a month name: ``jan`` is 1, ``dec`` is 12."""
    try:
        return YEARMONTHS[name[:3].lower()]
    except KeyError:
        raise KeyError(name) from None


def humanize_seconds(secs: float, prefix: str = '', sep: str = '', now: str = 'now',
                     microseconds: bool = False) -> str:
    """Describe seconds in words: ``humanize_seconds(90)`` is ``'1.50 minutes'``."""
    for unit, divider in TIME_UNITS:
        if secs >= divider:
            amount = secs / divider
            plural = unit if amount == 1 else unit + 's'
            return f'{prefix}{sep}{amount:.2f} {plural}'
    if microseconds and secs > 0.0:
        return f'{prefix}{sep}{secs:.2f} seconds'
    return now


def maybe_iso8601(dt: datetime | str | None) -> datetime | None:
    """Parse ``dt`` if it is an ISO-8601 string; datetimes and None pass through."""
    if not dt:
        return None
    if isinstance(dt, datetime):
        return dt
    return parse_iso8601(dt)


def is_naive(dt: datetime) -> bool:
    """Return True if ``dt`` carries no usable time zone."""
    return dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None


def make_aware(dt: datetime, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a naive datetime (ambiguous times take the first occurrence)."""
    localize_with = getattr(tz, 'localize', None)
    if localize_with is not None:  # pytz zones need their own localize
        aware: datetime = localize_with(dt, is_dst=True)
        return aware
    return dt.replace(tzinfo=tz, fold=0)


def localize(dt: datetime, tz: tzinfo) -> datetime:
    """Convert ``dt`` to ``tz``, attaching ``tz`` if ``dt`` is naive."""
    if is_naive(dt):
        return make_aware(dt, tz)
    if dt.tzinfo is tz:
        return dt
    converted = dt.astimezone(tz)
    normalize = getattr(tz, 'normalize', None)
    return normalize(converted) if normalize is not None else converted


def to_utc(dt: datetime) -> datetime:
    """Take a naive datetime as UTC and make it aware."""
    return make_aware(dt, timezone.utc)


def maybe_make_aware(dt: datetime, tz: tzinfo | None = None,
                     naive_as_utc: bool = True) -> datetime:
    """Make a naive ``dt`` aware in ``tz`` (read as UTC by default); aware values pass unchanged."""
    if not is_naive(dt):
        # Callers (and plugins such as celery-redbeat) rely on getting the very
        # same instant and zone back; converting is what ``localize`` is for.
        return dt
    if naive_as_utc:
        dt = to_utc(dt)
    return localize(dt, timezone.utc if tz is None else timezone.tz_or_local(tz))


def add_seconds_to_datetime(dt: datetime, seconds: float) -> datetime:
    """Return ``dt`` plus ``seconds`` of elapsed time, in ``dt``'s zone (DST safe)."""
    if is_naive(dt) or dt.tzinfo is None:
        return dt + timedelta(seconds=seconds)
    # Aware arithmetic in one zone is wall-clock arithmetic: an hour added
    # across a DST change would be off by the shift, so add in UTC.
    moved = dt.astimezone(datetime_timezone.utc) + timedelta(seconds=seconds)
    return localize(moved, dt.tzinfo)


def subtract_datetimes(end: datetime, start: datetime) -> timedelta:
    """Return the elapsed time from ``start`` to ``end`` (DST safe for aware values)."""
    if is_naive(end) or is_naive(start):
        return end - start
    return end.astimezone(datetime_timezone.utc) - start.astimezone(datetime_timezone.utc)


class ffwd:
    """Fast-forward a date: replace fields, then move to a weekday and add weeks."""

    def __init__(self, year: int | None = None, month: int | None = None, weeks: int = 0,
                 weekday: int | None = None, day: int | None = None, hour: int | None = None,
                 minute: int | None = None, second: int | None = None,
                 microsecond: int | None = None, **kwargs: Any) -> None:
        # Fields of the date to replace; None leaves the date's own value.
        self.year, self.month, self.day = year, month, day
        self.hour, self.minute, self.second, self.microsecond = hour, minute, second, microsecond
        # Applied after the replacement: move forward to ``weekday``, then add whole weeks.
        self.weekday = weekday
        self.weeks = weeks
        self.days = weeks * 7
        self._has_time = hour is not None or minute is not None

    def __repr__(self) -> str:
        return f'<ffwd: {self._fields(weeks=self.weeks, weekday=self.weekday)}>'

    def __radd__(self, other: D) -> D:
        if not isinstance(other, date):
            return NotImplemented
        year = self.year or other.year
        month = self.month or other.month
        day = min(monthrange(year, month)[1], self.day or other.day)
        result = other.replace(**dict(self._fields(), year=year, month=month, day=day))
        if self.weekday is not None:
            # ``weekday`` counts from Monday, like ``date.weekday()``.
            result += timedelta(days=(7 - result.weekday() + self.weekday) % 7)
        return result + timedelta(days=self.days)

    def _fields(self, **extra: Any) -> dict[str, Any]:
        fields = {'year': self.year, 'month': self.month, 'day': self.day,
                  'hour': self.hour, 'minute': self.minute, 'second': self.second,
                  'microsecond': self.microsecond, **extra}
        return {key: value for key, value in fields.items() if value is not None}


class _TimeZoneOffsets(Protocol):
    """The offsets of the :mod:`time` module (seconds west of UTC)."""

    altzone: int
    timezone: int


def utcoffset(time: _TimeZoneOffsets = _time,
              localtime: Callable[[], _time.struct_time] = _time.localtime) -> int:
    """Return the current offset from UTC in hours (west of UTC is positive)."""
    if localtime().tm_isdst:
        return time.altzone // 3600
    return time.timezone // 3600


def adjust_timestamp(ts: float, offset: int, here: Callable[[], int] = utcoffset) -> float:
    """Shift a timestamp taken at UTC ``offset`` hours to this machine's offset."""
    return ts - (offset - here()) * 3600


def get_exponential_backoff_interval(factor: float, retries: int, maximum: float,
                                     full_jitter: bool = False) -> float:
    """Return ``factor * 2**retries`` capped at ``maximum``, with optional full jitter."""
    growth: int = 2 ** retries  # retries >= 0: an int
    countdown = min(maximum, factor * growth)
    if full_jitter:
        countdown = random.randrange(int(countdown) + 1)
    return max(0, countdown)


def isoformat(dt: datetime, sep: str = 'T') -> str:
    """Return ``dt`` in ISO-8601 format."""
    return dt.isoformat(sep)

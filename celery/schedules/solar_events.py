"""Solar schedules: run at sunrise, sunset, dawn, dusk or noon at a place on Earth."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import ImproperlyConfigured
from celery.schedules.base import BaseSchedule, schedstate
from celery.utils.time import subtract_datetimes, timezone

__all__ = ('solar', 'SOLAR_REPR', 'SOLAR_INVALID_EVENT', 'SOLAR_INVALID_LATITUDE',
           'SOLAR_INVALID_LONGITUDE', 'SOLAR_EPHEM_NOT_INSTALLED')

SOLAR_REPR = '<solar: {0.event} at latitude {0.lat}, longitude: {0.lon}>'
SOLAR_INVALID_EVENT = 'Argument event "{event}" is invalid, must be one of {all_events}'
SOLAR_INVALID_LATITUDE = 'Argument latitude {lat} is invalid, must be between -90 and 90.'
SOLAR_INVALID_LONGITUDE = 'Argument longitude {lon} is invalid, must be between -180 and 180.'
SOLAR_EPHEM_NOT_INSTALLED = ('solar schedules need the optional "ephem" package: '
                             'pip install "celery[solar]" (or pip install ephem)')

# For each event: degrees of the sun's center below the horizon, the ephem
# method that finds it, and whether the sun's center (not its rim) counts.
_EVENTS = {
    'dawn_astronomical': ('-18', 'next_rising', True),
    'dawn_nautical': ('-12', 'next_rising', True),
    'dawn_civil': ('-6', 'next_rising', True),
    'sunrise': ('-0:34', 'next_rising', False),
    'solar_noon': ('0', 'next_transit', False),
    'sunset': ('-0:34', 'next_setting', False),
    'dusk_civil': ('-6', 'next_setting', True),
    'dusk_nautical': ('-12', 'next_setting', True),
    'dusk_astronomical': ('-18', 'next_setting', True),
}


def _import_ephem() -> Any:
    try:
        import ephem
    except ImportError as exc:
        raise ImproperlyConfigured(SOLAR_EPHEM_NOT_INSTALLED) from exc
    return ephem


class solar(BaseSchedule):
    """Run at a solar event (sunrise, sunset, dawn, dusk...) at a place on Earth.

    Needs the optional ``ephem`` package.
    """

    #: Days to look ahead for an event that does not happen every day (polar regions).
    max_search_days: int = 366

    _all_events = set(_EVENTS)

    def __init__(self, event: str, lat: int | float, lon: int | float, **kwargs: Any) -> None:
        self.ephem = _import_ephem()
        self.event = event
        self.lat = lat
        self.lon = lon
        tz = kwargs.pop('tz', None)
        super().__init__(**kwargs)
        self.tz = tz
        if event not in _EVENTS:
            raise ValueError(SOLAR_INVALID_EVENT.format(
                event=event, all_events=', '.join(sorted(_EVENTS))))
        if not -90 <= lat <= 90:
            raise ValueError(SOLAR_INVALID_LATITUDE.format(lat=lat))
        if not -180 <= lon <= 180:
            raise ValueError(SOLAR_INVALID_LONGITUDE.format(lon=lon))
        horizon, self.method, self.use_center = _EVENTS[event]
        self.cal = self.ephem.Observer()
        self.cal.lat = str(lat)
        self.cal.lon = str(lon)
        self.cal.elev = 0
        self.cal.horizon = horizon
        self.cal.pressure = 0

    def __reduce__(self) -> tuple:
        return self.__class__, (self.event, self.lat, self.lon)

    def __repr__(self) -> str:
        return SOLAR_REPR.format(self)

    def _next_event_after(self, start: datetime) -> datetime | None:
        """The first occurrence of the event after naive-UTC ``start``, as aware UTC."""
        sun = self.ephem.Sun()
        find_next = getattr(self.cal, self.method)
        extra = {'use_center': True} if self.use_center else {}
        for day in range(self.max_search_days):
            search_from = start + timedelta(days=day)
            self.cal.date = search_from
            try:
                found = find_next(sun, start=search_from, **extra)
            except self.ephem.CircumpolarError:
                continue  # the sun neither rises nor sets here that day
            return found.datetime().replace(tzinfo=timezone.utc)
        return None

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Return the time left until the event next happens after ``last_run_at``."""
        start = self.maybe_make_aware(last_run_at).astimezone(timezone.utc).replace(tzinfo=None)
        next_event = self._next_event_after(start)
        if next_event is None:  # not within a year: look again after that
            return timedelta(days=self.max_search_days)
        return subtract_datetimes(next_event, self.maybe_make_aware(self.now()))

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

"""Schedules for periodic tasks: fixed intervals, crontab and solar events.

One module per kind (:mod:`~celery.schedules.interval`,
:mod:`~celery.schedules.cron`, :mod:`~celery.schedules.solar_events`);
every public name is importable from here, as in Celery.
"""
from __future__ import annotations

from celery._state import current_app
from celery.exceptions import ImproperlyConfigured
from celery.schedules.base import BaseSchedule, schedstate
from celery.schedules.cron import (
    CRON_DAYS_IN_MONTH,
    CRON_INVALID_DATE,
    CRON_INVALID_TYPE,
    CRON_PATTERN_INVALID,
    CRON_REPR,
    crontab,
)
from celery.schedules.cron_parser import ParseException, cronfield, crontab_parser
from celery.schedules.interval import maybe_schedule, schedule
from celery.schedules.solar_events import (
    SOLAR_EPHEM_NOT_INSTALLED,
    SOLAR_INVALID_EVENT,
    SOLAR_INVALID_LATITUDE,
    SOLAR_INVALID_LONGITUDE,
    SOLAR_REPR,
    solar,
)
from celery.utils.collections import AttributeDict
from celery.utils.time import (
    ffwd,
    humanize_seconds,
    localize,
    maybe_make_aware,
    maybe_timedelta,
    remaining,
    subtract_datetimes,
    timezone,
    weekday,
    yearmonth,
)

__all__ = (
    'ParseException', 'schedule', 'crontab', 'crontab_parser',
    'maybe_schedule', 'solar',
)

# Pickles (schedule files) name classes by module: keep Celery's path so
# schedule files are interchangeable with Celery's.
for _cls in (BaseSchedule, schedstate, ParseException, crontab_parser, crontab,
             schedule, solar):
    _cls.__module__ = __name__
del _cls

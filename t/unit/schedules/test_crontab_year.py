"""Crontab run times over whole years with a fixed clock, in several time zones.

A beat is simulated by jumping the clock by exactly the ``next`` seconds
``is_due`` returns, and the run times are compared with a brute-force
enumeration of the matching wall-clock minutes.  Wall times that do not
exist (spring forward) run at the instant they map to after the gap;
repeated wall times (fall back) run once, at their first occurrence.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from celery.schedules import crontab

ZONES = ['UTC', 'Europe/Paris', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata']

CRONTABS = {
    'every 3 hours': dict(minute=0, hour='*/3'),
    'daily in the DST hour': dict(minute=30, hour=2),
    'half-hours around the DST hour': dict(minute='0,30', hour='1-3'),
    'weekdays at 9:15': dict(minute=15, hour=9, day_of_week='mon-fri'),
    'month ends': dict(minute=0, hour=0, day_of_month='29-31'),
    'leap day': dict(minute=0, hour=12, day_of_month=29, month_of_year=2),
    'quarterly': dict(minute=0, hour=0, day_of_month=1, month_of_year='*/3'),
    'first sunday': dict(minute=45, hour=23, day_of_week='sun', day_of_month='1-7'),
    'names': dict(minute='*/20', hour='*/6', month_of_year='jan,jul', day_of_week='sat-sun'),
}


def expected_runs(cron: crontab, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every matching wall-clock minute, as UTC instants (fold=0 for gaps and repeats)."""
    runs = set()
    day = start.replace(tzinfo=None, hour=0, minute=0)
    while day < end.replace(tzinfo=None):
        if (day.month in cron.month_of_year and day.day in cron.day_of_month
                and day.isoweekday() % 7 in cron.day_of_week):
            for hour in cron.hour:
                for minute in cron.minute:
                    wall = day.replace(hour=hour, minute=minute)
                    instant = wall.replace(tzinfo=tz, fold=0).astimezone(dt_timezone.utc)
                    if start < instant < end:
                        runs.add(instant)
        day += timedelta(days=1)
    return sorted(runs)


def simulated_runs(cron: crontab, app, start: datetime, end: datetime) -> list[datetime]:
    app.clock = start
    last_run_at = app.now()
    runs = []
    while True:
        is_due, next_seconds = cron.is_due(last_run_at)
        if is_due:
            runs.append(app.clock)
            last_run_at = app.now()
        assert next_seconds > 0
        app.clock += timedelta(seconds=next_seconds)
        if app.clock >= end:
            return runs


@pytest.mark.parametrize('year', [2023, 2024])
@pytest.mark.parametrize('zone', ZONES)
@pytest.mark.parametrize('name', sorted(CRONTABS))
def test_year_of_runs(make_app, name, zone, year):
    app = make_app(zone)
    cron = crontab(app=app, **CRONTABS[name])
    tz = ZoneInfo(zone)
    start = datetime(year, 1, 1, tzinfo=tz).astimezone(dt_timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(dt_timezone.utc)
    assert simulated_runs(cron, app, start, end) == expected_runs(cron, tz, start, end)


def _day_runs(make_app, zone, day, **fields):
    app = make_app(zone)
    cron = crontab(app=app, **fields)
    tz = ZoneInfo(zone)
    start = datetime(*day, tzinfo=tz).astimezone(dt_timezone.utc)
    end = (datetime(*day, tzinfo=tz) + timedelta(days=1)).astimezone(dt_timezone.utc)
    return [run.astimezone(tz) for run in simulated_runs(cron, app, start, end)]


@pytest.mark.parametrize('zone, spring_day, fall_day', [
    ('Europe/Paris', (2024, 3, 31), (2024, 10, 27)),
    ('America/New_York', (2024, 3, 10), (2024, 11, 3)),
    ('Australia/Sydney', (2024, 10, 6), (2024, 4, 7)),
])
def test_hourly_job_on_dst_days_neither_skips_nor_doubles(make_app, zone, spring_day, fall_day):
    spring = _day_runs(make_app, zone, spring_day, minute=30)
    fall = _day_runs(make_app, zone, fall_day, minute=30)
    # 23 wall-clock hours exist on the spring day, 24 distinct ones on the fall day.
    assert len(spring) == 23
    assert len(fall) == 24
    assert len({run.hour for run in fall}) == 24


@pytest.mark.parametrize('zone, spring_day, fall_day', [
    ('Europe/Paris', (2024, 3, 31), (2024, 10, 27)),
    ('America/New_York', (2024, 3, 10), (2024, 11, 3)),
])
def test_daily_job_in_the_dst_hour_runs_once(make_app, zone, spring_day, fall_day):
    spring = _day_runs(make_app, zone, spring_day, minute=30, hour=2)
    fall = _day_runs(make_app, zone, fall_day, minute=30, hour=2)
    assert [(r.hour, r.minute) for r in spring] == [(3, 30)]  # 2:30 did not exist
    assert [(r.hour, r.minute, r.fold) for r in fall] == [(2, 30, 0)]


def test_every_seven_minutes_for_a_week(make_app):
    app = make_app('Europe/Paris')
    cron = crontab(minute='*/7', app=app)
    tz = ZoneInfo('Europe/Paris')
    start = datetime(2024, 3, 28, tzinfo=tz).astimezone(dt_timezone.utc)
    end = datetime(2024, 4, 4, tzinfo=tz).astimezone(dt_timezone.utc)
    assert simulated_runs(cron, app, start, end) == expected_runs(cron, tz, start, end)


def test_local_time_when_utc_is_disabled(make_app):
    app = make_app('Asia/Kolkata', enable_utc=False)
    cron = crontab(minute=0, hour=6, app=app)
    app.clock = datetime(2024, 5, 1, 0, 0, tzinfo=dt_timezone.utc)
    rem = cron.remaining_estimate(app.now())
    assert rem > timedelta(0)

"""Interval schedules, ``maybe_schedule``, solar and crontab helpers."""
from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from celery.exceptions import ImproperlyConfigured
from celery.schedules import crontab, maybe_schedule, schedstate, schedule, solar
from celery.utils.time import ffwd


def test_interval_is_due_after_run_every(make_app):
    app = make_app()
    s = schedule(timedelta(seconds=10), app=app)
    last = app.now()
    app.clock += timedelta(seconds=4)
    assert s.is_due(last) == schedstate(False, 6.0)
    app.clock += timedelta(seconds=6)
    assert s.is_due(last) == schedstate(True, 10.0)


def test_interval_counts_elapsed_time_across_dst(make_app):
    app = make_app('Europe/Paris')
    s = schedule(3600, app=app)
    app.clock = datetime(2024, 3, 31, 0, 30, tzinfo=dt_timezone.utc)  # 1:30 CET
    last = app.now()
    app.clock += timedelta(minutes=59)
    assert not s.is_due(last).is_due
    app.clock += timedelta(minutes=1)
    assert s.is_due(last).is_due


def test_relative_interval_rounds_to_its_unit(make_app):
    app = make_app()
    s = schedule(timedelta(hours=1), relative=True, app=app)
    app.clock = datetime(2024, 1, 1, 10, 20, tzinfo=dt_timezone.utc)
    last = app.now()
    assert s.remaining_estimate(last) == timedelta(minutes=40)


def test_naive_last_run_at_is_utc(make_app):
    app = make_app('Europe/Paris')
    s = schedule(60, app=app)
    app.clock = datetime(2024, 6, 1, 12, 0, 30, tzinfo=dt_timezone.utc)
    assert s.remaining_estimate(datetime(2024, 6, 1, 12, 0)) == timedelta(seconds=30)


def test_interval_repr_eq_pickle(make_app):
    s = schedule(timedelta(seconds=10))
    assert repr(s) == '<freq: 10.00 seconds>'
    assert s.seconds == 10 and s.human_seconds == '10.00 seconds'
    assert s == schedule(10) and s != schedule(11)
    assert s == timedelta(seconds=10)
    clone = pickle.loads(pickle.dumps(schedule(30, relative=True)))
    assert clone == schedule(30) and clone.relative


def test_maybe_schedule():
    assert maybe_schedule(None) is None
    assert maybe_schedule(5) == schedule(5)
    assert maybe_schedule(2.5).seconds == 2.5
    assert maybe_schedule(timedelta(minutes=1), relative=True).relative
    cron = crontab()
    assert maybe_schedule(cron) is cron


def test_crontab_remaining_delta_returns_a_fast_forward(make_app):
    app = make_app()
    cron = crontab(minute=15, hour=4, app=app)
    app.clock = datetime(2024, 2, 28, 10, 0, tzinfo=dt_timezone.utc)
    last, delta, now = cron.remaining_delta(app.now())
    assert isinstance(delta, ffwd)
    assert last + delta == datetime(2024, 2, 29, 4, 15, tzinfo=dt_timezone.utc)
    assert cron.remaining_estimate(last) == timedelta(hours=18, minutes=15)


def test_crontab_is_due_reports_seconds_to_the_next_run(make_app):
    app = make_app()
    cron = crontab(minute='*/15', app=app)
    app.clock = datetime(2024, 1, 1, 10, 15, tzinfo=dt_timezone.utc)
    last = datetime(2024, 1, 1, 10, 0, 0, 100, tzinfo=dt_timezone.utc)
    assert cron.is_due(last) == schedstate(True, 900.0)
    assert cron.is_due(app.now()) == schedstate(False, 900.0)


def test_starting_deadline_skips_old_missed_runs(make_app):
    app = make_app(beat_cron_starting_deadline=120)
    cron = crontab(minute=0, app=app)
    last = datetime(2024, 1, 1, 8, 0, tzinfo=dt_timezone.utc)
    app.clock = datetime(2024, 1, 1, 9, 30, tzinfo=dt_timezone.utc)  # missed 9:00 by 30m
    assert cron.is_due(last) == schedstate(False, 1800.0)
    app.clock = datetime(2024, 1, 1, 10, 1, tzinfo=dt_timezone.utc)  # 10:00 within 2m
    assert cron.is_due(last).is_due


def test_missed_runs_fire_once_without_deadline(make_app):
    app = make_app()
    cron = crontab(minute=0, app=app)
    last = datetime(2024, 1, 1, 0, 0, tzinfo=dt_timezone.utc)
    app.clock = datetime(2024, 1, 3, 9, 30, tzinfo=dt_timezone.utc)
    assert cron.is_due(last) == schedstate(True, 1800.0)


def test_nowfun_overrides_the_app_clock(make_app):
    fixed = datetime(2024, 1, 1, 0, 0, 30, tzinfo=dt_timezone.utc)
    s = schedule(60, nowfun=lambda: fixed, app=make_app())
    assert s.remaining_estimate(datetime(2024, 1, 1, tzinfo=dt_timezone.utc)) == timedelta(seconds=30)


def test_solar_without_ephem_is_a_clear_error():
    pytest.importorskip('sys')
    try:
        import ephem  # noqa: F401
    except ImportError:
        with pytest.raises(ImproperlyConfigured, match='ephem'):
            solar('sunrise', 48.85, 2.35)
    else:
        with pytest.raises(ValueError, match='latitude'):
            solar('sunrise', 100, 2.35)
        assert repr(solar('sunset', 1, 2)) == '<solar: sunset at latitude 1, longitude: 2>'


def test_solar_sunrise_time_with_ephem(make_app):
    pytest.importorskip('ephem')
    now = datetime(2024, 12, 21, 0, 0, tzinfo=dt_timezone.utc)
    oslo_sunrise = solar('sunrise', 59.91, 10.75, nowfun=lambda: now, app=make_app())
    remaining = oslo_sunrise.remaining_estimate(datetime(2024, 12, 20, 12, 0, tzinfo=dt_timezone.utc))
    # Oslo's winter-solstice sunrise is at about 09:18 local time, 08:18 UTC.
    assert timedelta(hours=8, minutes=8) <= remaining <= timedelta(hours=8, minutes=28)
    due, next_check = oslo_sunrise.is_due(datetime(2024, 12, 20, 12, 0, tzinfo=dt_timezone.utc))
    assert not due and next_check > 0


def test_solar_in_polar_night_waits_for_the_first_sunrise(make_app):
    pytest.importorskip('ephem')
    now = datetime(2024, 12, 21, 0, 0, tzinfo=dt_timezone.utc)
    polar_night = solar('sunrise', 78.22, 15.65, nowfun=lambda: now, app=make_app())  # Svalbard
    # No sunrise for weeks: the search looks ahead day by day (up to
    # max_search_days) and finds the first one, mid-February.
    due, next_check = polar_night.is_due(datetime(2024, 12, 20, 23, 30, tzinfo=dt_timezone.utc))
    assert not due
    first_sunrise = now + timedelta(seconds=next_check)
    assert datetime(2025, 2, 10, tzinfo=dt_timezone.utc) < first_sunrise < datetime(
        2025, 2, 20, tzinfo=dt_timezone.utc)
    assert solar.max_search_days == 366

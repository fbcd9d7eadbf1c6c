"""Relative intervals align to wall-clock boundaries; elapsed time is measured in UTC."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from celery.schedules import crontab, schedstate, schedule

UTC = dt_timezone.utc
BERLIN = ZoneInfo('Europe/Berlin')


def at(*fields: int, tz=UTC) -> datetime:
    return datetime(*fields, tzinfo=tz)


def test_relative_hourly_run_at_10_59_30_is_next_checked_at_11(make_app):
    app = make_app()
    hourly = schedule(timedelta(hours=1), relative=True, app=app)
    app.clock = at(2024, 1, 1, 10, 59, 30)
    # Last ran at 9:59:30: 10:59:30 rounds down to 10:00, long past.
    assert hourly.is_due(at(2024, 1, 1, 9, 59, 30)) == schedstate(True, 30.0)


def test_relative_is_not_due_before_the_boundary(make_app):
    app = make_app()
    hourly = schedule(timedelta(hours=1), relative=True, app=app)
    app.clock = at(2024, 1, 1, 10, 20)
    assert hourly.is_due(at(2024, 1, 1, 10, 0)) == schedstate(False, 2400.0)


def test_plain_interval_when_due_waits_a_full_period(make_app):
    app = make_app()
    hourly = schedule(timedelta(hours=1), app=app)
    app.clock = at(2024, 1, 1, 10, 59, 30)
    assert hourly.is_due(at(2024, 1, 1, 9, 59, 30)) == schedstate(True, 3600.0)


def test_relative_daily_aligns_to_local_midnight(make_app):
    app = make_app('Europe/Berlin')
    daily = schedule(timedelta(days=1), relative=True, app=app)
    app.clock = at(2024, 6, 1, 12, 0)  # 14:00 in Berlin
    last = at(2024, 6, 1, 9, 0)  # 11:00 in Berlin: next boundary is 2 June 00:00 Berlin
    assert daily.remaining_estimate(last) == at(2024, 6, 1, 22, 0) - app.clock


def test_relative_hourly_across_the_spring_gap(make_app):
    # Berlin, 31 March 2024: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    app = make_app('Europe/Berlin')
    hourly = schedule(timedelta(hours=1), relative=True, app=app)
    last = at(2024, 3, 31, 1, 30, tz=BERLIN)  # 00:30 UTC
    app.clock = at(2024, 3, 31, 0, 45)
    # One elapsed hour later is 01:30 UTC = 03:30 CEST, which rounds to 03:00 CEST.
    assert hourly.remaining_estimate(last) == at(2024, 3, 31, 1, 0) - app.clock


def test_relative_daily_boundary_in_a_gap_is_the_first_instant_after_it(make_app):
    # Havana skips midnight: on 10 March 2024 00:00 CST jumps to 01:00 CDT.
    app = make_app('America/Havana')
    daily = schedule(timedelta(days=1), relative=True, app=app)
    last = at(2024, 3, 9, 12, 0, tz=ZoneInfo('America/Havana'))
    app.clock = at(2024, 3, 10, 4, 30)  # 23:30 on the 9th, local
    first_instant_of_the_10th = at(2024, 3, 10, 5, 0)  # 01:00 CDT
    assert daily.remaining_estimate(last) == first_instant_of_the_10th - app.clock


def test_relative_hourly_in_the_autumn_fold_runs_each_real_hour(make_app):
    # Berlin, 27 October 2024: 03:00 CEST falls back to 02:00 CET, so 02:xx happens twice.
    app = make_app('Europe/Berlin')
    hourly = schedule(timedelta(hours=1), relative=True, app=app)
    first_2am = at(2024, 10, 27, 0, 0)  # 02:00 CEST
    app.clock = at(2024, 10, 27, 0, 30)
    assert hourly.remaining_estimate(first_2am) == timedelta(minutes=30)  # 02:00 CET
    second_2am = at(2024, 10, 27, 1, 0)
    app.clock = second_2am
    assert hourly.remaining_estimate(second_2am) == timedelta(hours=1)  # 03:00 CET


def test_crontab_next_is_the_time_to_the_next_run(make_app):
    app = make_app()
    quarterly = crontab(minute='*/15', app=app)
    app.clock = at(2024, 1, 1, 10, 3)
    assert quarterly.is_due(at(2024, 1, 1, 9, 50)) == schedstate(True, 720.0)


@pytest.mark.parametrize('deadline_s, missed_by_s, due', [
    (120, 120, True), (120, 119, True), (120, 121, False),
])
def test_starting_deadline_boundary(make_app, deadline_s, missed_by_s, due):
    app = make_app(beat_cron_starting_deadline=deadline_s)
    cron = crontab(minute=0, app=app)
    app.clock = at(2024, 1, 1, 9, 0) + timedelta(seconds=missed_by_s)
    assert cron.is_due(at(2024, 1, 1, 8, 0)).is_due is due


def test_starting_deadline_is_elapsed_time_across_dst(make_app):
    # 01:00 CET to 03:30 CEST on 31 March 2024 is 90 elapsed minutes, though
    # the wall clock moved 150: the deadline counts the 90.
    app = make_app('Europe/Berlin', beat_cron_starting_deadline=100 * 60)
    cron = crontab(minute=0, hour=1, app=app)  # 01:00 local, missed
    last = at(2024, 3, 30, 1, 0, tz=BERLIN)
    app.clock = at(2024, 3, 31, 1, 30)  # 03:30 CEST: 90 elapsed minutes after 01:00 CET
    assert cron.is_due(last).is_due
    app.clock = at(2024, 3, 31, 1, 45)  # 105 elapsed minutes: outside the 100-minute window
    assert not cron.is_due(last).is_due

"""What beat plugins (django-celery-beat, celery-redbeat) read and write on schedules."""
from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

import celery.schedules
from celery import Celery
from celery.schedules import crontab, schedstate, schedule, solar

UTC = dt_timezone.utc


def test_relative_is_a_class_attribute():
    # celery-redbeat reads schedule.relative without an instance.
    assert schedule.relative is False
    assert schedule(10, relative=True).relative is True


def test_tz_defaults_to_the_app_zone_and_can_be_assigned(make_app):
    app = make_app('Europe/Berlin')
    cron = crontab(minute=0, hour=9, app=app)
    assert cron.tz == ZoneInfo('Europe/Berlin')
    cron.tz = ZoneInfo('America/New_York')  # as django-celery-beat does per entry
    assert cron.tz == ZoneInfo('America/New_York')
    cron.tz = None
    assert cron.tz == ZoneInfo('Europe/Berlin')
    interval = schedule(60, app=app)
    interval.tz = 'Asia/Tokyo'
    assert interval.tz == ZoneInfo('Asia/Tokyo')


def test_assigned_tz_decides_when_a_crontab_runs(make_app):
    app = make_app('UTC')
    cron = crontab(minute=0, hour=9, app=app)
    cron.tz = ZoneInfo('America/New_York')
    app.clock = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)  # 08:00 in New York
    assert cron.remaining_estimate(app.clock) == timedelta(hours=1)


def test_tz_keyword_survives_pickling(make_app):
    cron = crontab(minute=0, hour=9, tz=ZoneInfo('Asia/Tokyo'))
    clone = pickle.loads(pickle.dumps(cron))
    assert clone == cron and clone.tz == ZoneInfo('Asia/Tokyo')


def test_solar_tz_is_settable():
    pytest.importorskip('ephem')
    sun = solar('sunrise', 59.9, 10.7, app=Celery(set_as_current=False))
    sun.tz = 'Europe/Oslo'
    assert sun.tz == ZoneInfo('Europe/Oslo')


def test_current_app_is_importable_from_schedules():
    from celery import current_app
    assert celery.schedules.current_app is current_app


def test_tz_aware_crontab_subclass_like_django_celery_beat():
    """A subclass that passes nowfun and assigns tz after __init__, as django-celery-beat does."""
    new_york = ZoneInfo('America/New_York')

    class TzAwareCrontab(crontab):
        def __init__(self, minute='*', hour='*', day_of_week='*', day_of_month='*',
                     month_of_year='*', tz=UTC, app=None):
            super().__init__(minute=minute, hour=hour, day_of_week=day_of_week,
                             day_of_month=day_of_month, month_of_year=month_of_year,
                             nowfun=self.nowfunc, app=app)
            self.tz = tz

        def nowfunc(self):
            return datetime(2024, 6, 1, 12, 30, tzinfo=UTC).astimezone(self.tz)

    cron = TzAwareCrontab(minute=0, hour=9, tz=new_york, app=Celery(set_as_current=False))
    # Last ran yesterday 09:00 New York; today's 09:00 New York (13:00 UTC) is 30 minutes away.
    last = datetime(2024, 5, 31, 9, 0, tzinfo=new_york)
    assert cron.is_due(last) == schedstate(False, 1800.0)


class TestPytzZones:
    @pytest.fixture
    def pytz(self):
        return pytest.importorskip('pytz')

    def test_crontab_tz_keyword_takes_a_pytz_zone(self, make_app, pytz):
        app = make_app('UTC')
        cron = crontab(minute=0, hour=9, tz=pytz.timezone('America/New_York'), app=app)
        app.clock = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
        assert cron.remaining_estimate(app.clock) == timedelta(hours=1)

    def test_nowfun_returning_pytz_times_across_dst(self, make_app, pytz):
        berlin = pytz.timezone('Europe/Berlin')
        now = berlin.localize(datetime(2024, 3, 31, 3, 30))  # CEST, just after the gap
        cron = crontab(minute=0, tz=berlin, nowfun=lambda: now, app=make_app())
        # Last run 01:00 CET; the 02:00 run does not exist, so 03:00 CEST was due.
        last = berlin.localize(datetime(2024, 3, 31, 1, 0))
        assert cron.is_due(last) == schedstate(True, 1800.0)

    def test_app_timezone_as_pytz_object(self, make_app, pytz):
        app = make_app('UTC')
        app.timezone = pytz.timezone('Europe/Berlin')
        hourly = schedule(timedelta(hours=1), relative=True, app=app)
        app.clock = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # 02:30 CEST
        assert hourly.remaining_estimate(app.clock) == timedelta(minutes=30)  # 02:00 CET

"""Elapsed-time arithmetic across DST: add_seconds_to_datetime, subtract_datetimes, maybe_make_aware."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from celery.utils.time import (
    add_seconds_to_datetime,
    instants_at_wall_time,
    maybe_make_aware,
    remaining,
    subtract_datetimes,
    yearmonth,
)

UTC = dt_timezone.utc
BERLIN = ZoneInfo('Europe/Berlin')


def test_add_seconds_across_spring_forward_is_elapsed_time():
    before = datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN)  # CET
    after = add_seconds_to_datetime(before, 3600)
    assert after.replace(tzinfo=None) == datetime(2024, 3, 31, 3, 30)  # CEST
    assert after.tzinfo is BERLIN
    assert subtract_datetimes(after, before) == timedelta(hours=1)


def test_add_seconds_across_fall_back_lands_in_the_second_occurrence():
    before = datetime(2024, 10, 27, 2, 30, tzinfo=BERLIN)  # first 02:30, CEST
    after = add_seconds_to_datetime(before, 3600)
    assert after.replace(tzinfo=None) == datetime(2024, 10, 27, 2, 30)
    assert after.fold == 1 and after.utcoffset() == timedelta(hours=1)


def test_add_negative_seconds_and_naive_values():
    assert add_seconds_to_datetime(datetime(2024, 3, 31, 3, 30, tzinfo=BERLIN), -3600) \
        .replace(tzinfo=None) == datetime(2024, 3, 31, 1, 30)
    assert add_seconds_to_datetime(datetime(2024, 1, 1), 1.5) == datetime(2024, 1, 1, 0, 0, 1, 500000)


def test_subtract_datetimes_counts_elapsed_time_in_one_zone():
    # A day in which the clocks went forward lasts 23 hours.
    start = datetime(2024, 3, 31, 0, 0, tzinfo=BERLIN)
    end = datetime(2024, 4, 1, 0, 0, tzinfo=BERLIN)
    assert end - start == timedelta(days=1)  # Python's wall-clock answer
    assert subtract_datetimes(end, start) == timedelta(hours=23)
    assert subtract_datetimes(datetime(2024, 1, 2), datetime(2024, 1, 1)) == timedelta(days=1)


def test_subtract_datetimes_across_zones():
    assert subtract_datetimes(datetime(2024, 6, 1, 14, 0, tzinfo=BERLIN),
                              datetime(2024, 6, 1, 11, 0, tzinfo=UTC)) == timedelta(hours=1)


def test_remaining_counts_the_interval_as_elapsed_time():
    start = datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN)
    now = datetime(2024, 3, 31, 3, 0, tzinfo=BERLIN)  # 30 elapsed minutes later
    assert remaining(start, timedelta(hours=1), now) == timedelta(minutes=30)


def test_maybe_make_aware_leaves_aware_values_unchanged():
    aware = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert maybe_make_aware(aware, BERLIN) is aware
    assert maybe_make_aware(datetime(2024, 6, 1, 12, 0), BERLIN) == aware
    assert maybe_make_aware(datetime(2024, 6, 1, 12, 0), BERLIN).tzinfo is BERLIN


def test_instants_at_wall_time():
    assert len(instants_at_wall_time(datetime(2024, 10, 27, 2, 30), BERLIN)) == 2
    [after_gap] = instants_at_wall_time(datetime(2024, 3, 31, 2, 0), BERLIN)
    assert after_gap.astimezone(UTC) == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)


def test_yearmonth():
    assert yearmonth('jan') == 1 and yearmonth('December') == 12
    with pytest.raises(KeyError):
        yearmonth('foo')


class TestPytz:
    """The same arithmetic with pytz zones, which need localize/normalize."""

    @pytest.fixture
    def berlin(self):
        return pytest.importorskip('pytz').timezone('Europe/Berlin')

    def test_add_seconds_across_spring_forward(self, berlin):
        before = berlin.localize(datetime(2024, 3, 31, 1, 30))
        after = add_seconds_to_datetime(before, 3600)
        assert after.replace(tzinfo=None) == datetime(2024, 3, 31, 3, 30)
        assert after.utcoffset() == timedelta(hours=2)

    def test_subtract_and_wall_instants(self, berlin):
        start = berlin.localize(datetime(2024, 3, 31))
        end = berlin.localize(datetime(2024, 4, 1))
        assert subtract_datetimes(end, start) == timedelta(hours=23)
        first, second = instants_at_wall_time(datetime(2024, 10, 27, 2, 30), berlin)
        assert subtract_datetimes(second, first) == timedelta(hours=1)

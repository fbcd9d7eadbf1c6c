"""celery.utils.time and celery.utils.iso8601."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from celery.utils.iso8601 import parse_iso8601
from celery.utils.time import (LocalTimezone, delta_resolution, ffwd,
                               get_exponential_backoff_interval, humanize_seconds, is_naive,
                               localize, make_aware, maybe_iso8601, maybe_make_aware,
                               maybe_timedelta, rate, remaining, timezone, to_utc, weekday)


@pytest.mark.parametrize('text, expected', [
    ('2024-01-31T10:00:00', datetime(2024, 1, 31, 10)),
    ('2024-01-31T10:00:00Z', datetime(2024, 1, 31, 10, tzinfo=dt_timezone.utc)),
    ('2024-01-31 10:00:00.5+02:00',
     datetime(2024, 1, 31, 10, 0, 0, 500000, tzinfo=dt_timezone(timedelta(hours=2)))),
    ('2024-01-31T10:00:00.123456789-0530',
     datetime(2024, 1, 31, 10, 0, 0, 123456, tzinfo=dt_timezone(-timedelta(hours=5, minutes=30)))),
    ('2024-01-31', datetime(2024, 1, 31)),
])
def test_parse_iso8601(text, expected):
    assert parse_iso8601(text) == expected


def test_parse_iso8601_rejects_garbage():
    with pytest.raises(ValueError, match='unable to parse'):
        parse_iso8601('yesterday')


def test_maybe_iso8601():
    now = datetime.now()
    assert maybe_iso8601(None) is None
    assert maybe_iso8601(now) is now
    assert maybe_iso8601('2024-02-29T00:00:00') == datetime(2024, 2, 29)


@pytest.mark.parametrize('value, expected', [
    ('10/s', 10.0), ('100/m', 100 / 60), ('1000/h', 1000 / 3600), ('5', 5.0),
    (3, 3), (None, 0), ('', 0),
])
def test_rate(value, expected):
    assert rate(value) == pytest.approx(expected)


def test_rate_rejects_unknown_unit():
    with pytest.raises(ValueError, match='unit'):
        rate('10/d')


@pytest.mark.parametrize('secs, expected', [
    (0, 'now'), (1, '1.00 second'), (10, '10.00 seconds'), (60, '1.00 minute'),
    (90, '1.50 minutes'), (4 * 3600, '4.00 hours'), (86400 * 2, '2.00 days'),
])
def test_humanize_seconds(secs, expected):
    assert humanize_seconds(secs) == expected


def test_humanize_seconds_prefix_and_microseconds():
    assert humanize_seconds(120, prefix='in ') == 'in 2.00 minutes'
    assert humanize_seconds(0.25, microseconds=True) == '0.25 seconds'


def test_weekday():
    assert weekday('sunday') == 0 and weekday('Sat') == 6
    with pytest.raises(KeyError):
        weekday('funday')


def test_maybe_timedelta_and_resolution():
    assert maybe_timedelta(30) == timedelta(seconds=30)
    dt = datetime(2024, 5, 6, 7, 8, 9)
    assert delta_resolution(dt, timedelta(days=2)) == datetime(2024, 5, 6)
    assert delta_resolution(dt, timedelta(hours=2)) == datetime(2024, 5, 6, 7)
    assert delta_resolution(dt, timedelta(minutes=2)) == datetime(2024, 5, 6, 7, 8)
    assert delta_resolution(dt, timedelta(seconds=2)) == dt


def test_remaining_is_elapsed_time_across_dst():
    paris = ZoneInfo('Europe/Paris')
    start = datetime(2024, 3, 31, 1, 30, tzinfo=paris)
    now = datetime(2024, 3, 31, 3, 0, tzinfo=paris)  # 30 real minutes later
    assert remaining(start, timedelta(hours=1), now) == timedelta(minutes=30)


def test_aware_helpers():
    paris = ZoneInfo('Europe/Paris')
    naive = datetime(2024, 7, 1, 12)
    assert is_naive(naive) and not is_naive(to_utc(naive))
    assert make_aware(naive, paris).utcoffset() == timedelta(hours=2)
    assert localize(to_utc(naive), paris).hour == 14
    assert maybe_make_aware(naive).tzinfo is dt_timezone.utc
    assert maybe_make_aware(naive, paris).hour == 14
    assert timezone.to_local(naive, paris).hour == 14
    assert timezone.get_timezone('UTC') is dt_timezone.utc
    assert timezone.get_timezone('Europe/Paris') == paris
    assert isinstance(timezone.local, LocalTimezone)
    assert timezone.to_local_fallback(naive).tzinfo is timezone.local


def test_ffwd_clamps_to_month_end_and_moves_to_weekday():
    assert datetime(2024, 1, 31) + ffwd(month=2) == datetime(2024, 2, 29)
    assert datetime(2023, 1, 31) + ffwd(month=2) == datetime(2023, 2, 28)
    # 2024-05-01 is a Wednesday; weekday=0 is Monday.
    assert datetime(2024, 5, 1) + ffwd(weekday=0, hour=9) == datetime(2024, 5, 6, 9)
    assert datetime(2024, 5, 1) + ffwd(weeks=1) == datetime(2024, 5, 8)


def test_exponential_backoff():
    assert get_exponential_backoff_interval(1, 3, 100) == 8
    assert get_exponential_backoff_interval(1, 10, 100) == 100
    assert 0 <= get_exponential_backoff_interval(1, 3, 100, full_jitter=True) <= 8

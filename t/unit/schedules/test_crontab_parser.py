"""The crontab field syntax."""
from __future__ import annotations

import pickle

import pytest

from celery.schedules import ParseException, crontab, crontab_parser


@pytest.mark.parametrize('spec, max_, min_, expected', [
    ('*', 60, 0, set(range(60))),
    ('*/15', 60, 0, {0, 15, 30, 45}),
    ('5', 60, 0, {5}),
    ('1,2,3', 60, 0, {1, 2, 3}),
    ('10-15', 60, 0, set(range(10, 16))),
    ('10-20/5', 60, 0, {10, 15, 20}),
    ('5/20', 60, 0, {5, 25, 45}),
    ('1-3,7,*/20', 60, 0, {0, 1, 2, 3, 7, 20, 40}),
    ('*', 31, 1, set(range(1, 32))),
    ('*/10', 31, 1, {1, 11, 21, 31}),
    ('*/3', 12, 1, {1, 4, 7, 10}),
    ('jan,mar-may', 12, 1, {1, 3, 4, 5}),
    ('mon-fri', 7, 0, {1, 2, 3, 4, 5}),
    ('fri-mon', 7, 0, {5, 6, 0, 1}),
    ('sun,SAT', 7, 0, {0, 6}),
    ('monday', 7, 0, {1}),
    ('*/2', 24, 0, set(range(0, 24, 2))),
    ('22-2', 24, 0, {22, 23, 0, 1, 2}),
])
def test_parse(spec, max_, min_, expected):
    assert crontab_parser(max_, min_).parse(spec) == expected


@pytest.mark.parametrize('spec, max_, min_', [
    ('60', 60, 0), ('0', 31, 1), ('13', 12, 1), ('-1', 60, 0), ('*/0', 60, 0),
    ('*/', 60, 0), ('1,,2', 60, 0), ('foo', 7, 0), ('1-x', 60, 0), ('', 60, 0),
])
def test_parse_rejects(spec, max_, min_):
    with pytest.raises(ParseException):
        crontab_parser(max_, min_).parse(spec)


def test_parse_exception_is_a_value_error():
    assert issubclass(ParseException, ValueError)


@pytest.mark.parametrize('kwargs, field', [
    ({'minute': '61'}, 'minute'),
    ({'hour': '24'}, 'hour'),
    ({'day_of_week': 'funday'}, 'day_of_week'),
    ({'day_of_month': '32'}, 'day_of_month'),
    ({'month_of_year': '0'}, 'month_of_year'),
    ({'minute': 75}, 'minute'),
    ({'hour': [1, 99]}, 'hour'),
])
def test_crontab_error_names_the_field(kwargs, field):
    with pytest.raises(ParseException, match=field):
        crontab(**kwargs)


@pytest.mark.parametrize('day_of_month, month_of_year', [
    ('30,31', 'feb'), (31, '2,4,6,9,11'), ('30', 2),
])
def test_a_day_that_never_occurs_in_the_months_is_a_value_error(day_of_month, month_of_year):
    with pytest.raises(ValueError, match='never occurs'):
        crontab(0, 0, day_of_month=day_of_month, month_of_year=month_of_year)


def test_leap_day_is_a_possible_date():
    assert crontab(0, 0, day_of_month=29, month_of_year=2).day_of_month == {29}


def test_fields_accept_ints_sets_and_strings():
    c = crontab(minute=5, hour={1, 2}, day_of_week=[0, 6], day_of_month='1-3')
    assert c.minute == {5}
    assert c.hour == {1, 2}
    assert c.day_of_week == {0, 6}
    assert c.day_of_month == {1, 2, 3}
    assert c.month_of_year == set(range(1, 13))


@pytest.mark.parametrize('day_of_week', [7, '7', '5-7', [0, 7]])
def test_day_of_week_seven_is_rejected(day_of_week):
    with pytest.raises(ValueError, match='day_of_week'):
        crontab(day_of_week=day_of_week)


def test_from_string():
    c = crontab.from_string('*/5 9-17 1,15 jan-jun mon-fri')
    assert c == crontab(minute='*/5', hour='9-17', day_of_month='1,15',
                        month_of_year='jan-jun', day_of_week='mon-fri')


def test_from_string_needs_five_fields():
    with pytest.raises(ValueError, match='5 fields'):
        crontab.from_string('* * *')


def test_repr():
    assert repr(crontab('0', '4', 'mon')) == '<crontab: 0 4 mon * * (m/h/d/dM/MY)>'
    assert repr(crontab()) == '<crontab: * * * * * (m/h/d/dM/MY)>'


def test_equality_and_hash():
    assert crontab('*/15') == crontab('0,15,30,45')
    assert hash(crontab('*/15')) == hash(crontab('0,15,30,45'))
    assert crontab('*/15') != crontab('*/20')
    assert crontab() != object()


def test_pickle_round_trip():
    c = crontab('*/5', '3', 'mon-fri', '1-10', '*/2')
    clone = pickle.loads(pickle.dumps(c))
    assert clone == c
    assert clone._orig_minute == '*/5'
    assert repr(clone) == repr(c)

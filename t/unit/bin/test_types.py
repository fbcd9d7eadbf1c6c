"""Parameter types shared by the commands."""
from __future__ import annotations

import logging
from datetime import datetime

import click
import pytest

from celery.bin.base import (COMMA_SEPARATED_LIST, ISO8601, ISO8601_OR_FLOAT, JSON_ARRAY,
                             JSON_OBJECT, LOG_LEVEL)
from celery.bin.worker import AUTOSCALE, _strip_detach_args


@pytest.mark.parametrize('value,expected', [
    ('a,b', ['a', 'b']), (' a , b ,', ['a', 'b']), ('single', ['single']),
])
def test_comma_separated_list(value, expected):
    assert COMMA_SEPARATED_LIST.convert(value, None, None) == expected


@pytest.mark.parametrize('value,expected', [
    ('info', logging.INFO), ('DEBUG', logging.DEBUG), ('fatal', logging.FATAL), (10, 10),
])
def test_log_level(value, expected):
    assert LOG_LEVEL.convert(value, None, None) == expected


def test_log_level_rejects_unknown():
    with pytest.raises(click.BadParameter):
        LOG_LEVEL.convert('LOUD', None, None)


def test_json_array_and_object():
    assert JSON_ARRAY.convert('[1, 2]', None, None) == [1, 2]
    assert JSON_OBJECT.convert('{"a": 1}', None, None) == {'a': 1}
    with pytest.raises(click.BadParameter, match='not an array'):
        JSON_ARRAY.convert('{"a": 1}', None, None)
    with pytest.raises(click.BadParameter, match='not an object'):
        JSON_OBJECT.convert('[1]', None, None)
    with pytest.raises(click.BadParameter, match='not valid JSON'):
        JSON_ARRAY.convert('[1,', None, None)


def test_iso8601():
    assert ISO8601.convert('2024-01-02T03:04:05', None, None) == datetime(2024, 1, 2, 3, 4, 5)
    assert ISO8601_OR_FLOAT.convert('2.5', None, None) == 2.5
    assert ISO8601_OR_FLOAT.convert('2024-01-02T03:04:05Z', None, None).tzinfo is not None
    with pytest.raises(click.BadParameter):
        ISO8601_OR_FLOAT.convert('tomorrow', None, None)


@pytest.mark.parametrize('value,expected', [('10,3', (10, 3)), ('3,10', (10, 3)), ('5', (5, 0))])
def test_autoscale(value, expected):
    assert AUTOSCALE.convert(value, None, None) == expected


@pytest.mark.parametrize('value', ['1,2,3', 'a,b', 'x'])
def test_autoscale_rejects(value):
    with pytest.raises(click.BadParameter):
        AUTOSCALE.convert(value, None, None)


def test_strip_detach_args():
    argv = ['-A', 'proj', 'worker', '-D', '--uid', 'nobody', '--gid=nogroup', '--detach', '-l', 'INFO']
    assert _strip_detach_args(argv) == ['-A', 'proj', 'worker', '-l', 'INFO']

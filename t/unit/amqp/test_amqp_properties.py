"""celery.transport.amqp_properties: the same property bytes as py-amqp, for every value."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from enum import IntEnum

import amqp
import pytest

from celery.transport.amqp_properties import (
    PropertiesMessage,
    PropertiesTemplate,
    UnsupportedValue,
    encode_properties,
)
from celery.transport.pyamqp import Channel


class Level(IntEnum):
    HIGH = 9


class Text(str):
    pass


TASK_HEADERS = {
    'lang': 'py', 'task': 'proj.add', 'id': 'b9a1', 'shadow': None, 'eta': None,
    'expires': '2030-01-01T00:00:00+00:00', 'group': None, 'group_index': None,
    'retries': 0, 'timelimit': [None, 30.5], 'root_id': 'b9a1', 'parent_id': None,
    'argsrepr': '(1, 2)', 'kwargsrepr': '{}', 'origin': 'gen1@host',
    'ignore_result': False, 'replaced_task_nesting': 0, 'stamped_headers': None,
    'stamps': {},
}

HEADER_CASES = [
    TASK_HEADERS,
    {},
    None,
    {'big': 2 ** 40, 'neg': -2 ** 40, 'edge': 2147483647, 'low': -2147483647,
     'below': -2147483648, 'f': -0.25, 't': True, 'n': None},
    {'nested': {'a': [1, 'x', (2.5, None), {'b': False}], 'c': b'raw'}, b'key': 'v'},
    {'unicode': 'héllo ☃', 'surrogate': '\udcff', 'empty': ''},
    {'decimal': Decimal('3.14'), 'x': 1},
    {'when': datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)},
    {'enum': Level.HIGH},
    {'text': Text('sub')},
    {'deep': {'list': [Decimal('1.5')]}},
]

PROPERTY_CASES = [
    {'content_type': 'application/json', 'content_encoding': 'utf-8',
     'delivery_mode': 2, 'priority': 0, 'correlation_id': 'b9a1', 'reply_to': ''},
    {'content_type': 'application/x-python-serialize', 'content_encoding': 'binary',
     'delivery_mode': 1, 'priority': 255, 'correlation_id': 'id', 'reply_to': 'r',
     'expiration': '1500', 'message_id': 'm', 'timestamp': 1700000000, 'type': 't',
     'user_id': 'guest', 'app_id': 'app', 'cluster_id': 'c'},
    {'correlation_id': b'bytes-id', 'reply_to': None},
    {'content_type': Text('application/json')},
]


@pytest.mark.parametrize('headers', HEADER_CASES)
@pytest.mark.parametrize('properties', PROPERTY_CASES)
def test_same_bytes_as_py_amqp(headers, properties):
    stock = amqp.Message('body', application_headers=headers, **properties)
    fast = PropertiesMessage('body', application_headers=headers, **properties)
    assert fast._serialize_properties() == stock._serialize_properties()


@pytest.mark.parametrize('bad', [{'k' * 300: 1}, {'obj': object()}, {'set': {1}}])
def test_values_py_amqp_rejects_fail_the_same_way(bad):
    stock = amqp.Message('body', application_headers=bad)
    fast = PropertiesMessage('body', application_headers=bad)
    with pytest.raises(Exception) as stock_error:
        stock._serialize_properties()
    with pytest.raises(type(stock_error.value)):
        fast._serialize_properties()


def test_encode_properties_of_a_task_message():
    properties = {'application_headers': TASK_HEADERS, **PROPERTY_CASES[0]}
    assert encode_properties(properties) == amqp.Message(
        '', **properties)._serialize_properties()


def test_owned_channel_prepares_properties_messages():
    channel = Channel.__new__(Channel)
    message = channel.prepare_message('body', 3, 'application/json', 'utf-8',
                                      {'task': 'x'}, {'delivery_mode': 2})
    assert type(message) is PropertiesMessage
    assert message.properties == amqp.Message(
        'body', priority=3, content_type='application/json', content_encoding='utf-8',
        application_headers={'task': 'x'}, delivery_mode=2).properties


def test_values_repeated_or_changed_between_messages_encode_afresh():
    # Encoded pairs are reused only for the very same immutable value object.
    name, origin, timelimit = 'proj.add', 'gen1@host', [None, None]
    sequence = [
        {'task': name, 'origin': origin, 'retries': 0, 'timelimit': timelimit, 'flag': True},
        {'task': name, 'origin': origin, 'retries': 0, 'timelimit': timelimit, 'flag': True},
        {'task': 'proj.mul', 'origin': origin, 'retries': 1, 'timelimit': timelimit,
         'flag': 1},
        {'task': name, 'origin': None, 'retries': True, 'timelimit': timelimit, 'flag': 1.0},
    ]
    timelimit_changes = iter([None, 30, 'x', None])
    for headers, reply_to in zip(sequence, ['r1', 'r1', 'r2', ''], strict=True):
        timelimit[1] = next(timelimit_changes)   # the same list object, changed in place
        properties = {'application_headers': headers, 'reply_to': reply_to,
                      'content_type': 'application/json', 'delivery_mode': 2,
                      'priority': headers['retries']}
        assert encode_properties(properties) == amqp.Message(
            '', **properties)._serialize_properties()


@pytest.mark.parametrize('value', [[], [None], [None, None], [None, None, None],
                                   [None, 0], {}, {'a': None}])
def test_empty_tables_and_arrays_of_none_as_py_amqp(value):
    properties = {'application_headers': {'x': value, 'stamps': {}, 'timelimit': [None, None]}}
    assert encode_properties(properties) == amqp.Message('', **properties)._serialize_properties()


OPEN = ('id', 'root_id', 'group_index', 'argsrepr', 'kwargsrepr')


@pytest.mark.parametrize('values', [
    ('a1', 'a1', 0, '(1, 2)', '{}'),
    ('b2' * 40, 'root', None, '', "{'k': 'é☃'}"),
    ('c3', None, 2 ** 40, '(\udcff,)', '{}'),
    ('d4', 'd4', True, '()', '{}'),
])
def test_properties_template_renders_what_encode_properties_gives(values):
    template_properties = {**PROPERTY_CASES[0], 'application_headers': dict(TASK_HEADERS)}
    template = PropertiesTemplate(template_properties, OPEN, ('correlation_id',))
    headers = dict(TASK_HEADERS, **dict(zip(OPEN, values, strict=True)))
    expected = encode_properties({**PROPERTY_CASES[0], 'application_headers': headers,
                                  'correlation_id': values[0]})
    assert template.render(values, (values[0],)) == expected


def test_properties_template_refuses_what_it_cannot_render():
    properties = {**PROPERTY_CASES[0], 'application_headers': dict(TASK_HEADERS)}
    with pytest.raises(UnsupportedValue):   # an open header the message lacks
        PropertiesTemplate(properties, ('missing',), ())
    with pytest.raises(UnsupportedValue):   # an open property the message lacks
        PropertiesTemplate(properties, OPEN, ('message_id',))
    template = PropertiesTemplate(properties, OPEN, ('correlation_id',))
    with pytest.raises(UnsupportedValue):   # unset: the property flags would differ
        template.render(('a', 'a', 0, '', ''), (None,))
    with pytest.raises(UnsupportedValue):   # a value left to py-amqp's encoder
        template.render((Decimal('1'), 'a', 0, '', ''), ('a',))

"""celery.transport.serialization.json_dumps: kombu's JSON text, its encoder built once."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from kombu.exceptions import EncodeError
from kombu.serialization import dumps as kombu_dumps, register, register_json
from kombu.utils.json import dumps

from celery.transport.publish_direct import _serialize
from celery.transport.serialization import json_dumps, kombu_json_codec

MESSAGES = [
    {'body': 'eyJhIjogMX0=', 'content-encoding': 'utf-8', 'content-type': 'application/json',
     'headers': {'lang': 'py', 'timelimit': [None, 1.5], 'é': 'ü\u2028\x00"\\', 'n': 10**30},
     'properties': {'priority': 0, 'delivery_info': {'exchange': '', 'routing_key': 'q'}}},
    {'headers': {'when': datetime(2031, 5, 6, tzinfo=timezone.utc), 'id': uuid.UUID(int=7),
                 'amount': Decimal('1.10'), 'raw': b'\xff\x00', 'nan': float('nan')}},
    {'deep': [[[[{'k': [1, {'v': True}]}]]]], 'empty': {}, 'list': []},
]


@pytest.mark.parametrize('message', MESSAGES, ids=['envelope', 'kombu_types', 'nested'])
def test_json_dumps_is_kombus_dumps(message):
    assert json_dumps(message) == dumps(message)


def test_json_dumps_raises_kombus_errors():
    circular: dict = {'properties': {}}
    circular['properties']['self'] = circular
    with pytest.raises(ValueError, match='Circular reference'):
        json_dumps(circular)
    with pytest.raises(TypeError):
        json_dumps({'headers': {'obj': object()}})


def test_the_json_codec_is_kombus_until_another_is_registered():
    codec = kombu_json_codec()
    assert codec is not None and codec.content_type == 'application/json'
    register('json', lambda obj: '"mine"', lambda text: text,
             content_type='application/json', content_encoding='utf-8')
    try:
        assert kombu_json_codec() is None
        # The direct publish path then encodes through kombu's registry.
        assert _serialize({'a': 1}, 'json')[2] == '"mine"'
    finally:
        register_json()
    assert kombu_json_codec() is not None


@pytest.mark.parametrize('body', [[[1, 2], {'k': 'é'}, {'callbacks': None}],
                                  {'when': datetime(2031, 1, 1, tzinfo=timezone.utc)}, 'text'])
def test_the_direct_path_serializes_json_as_kombu(body):
    assert _serialize(body, 'json') == kombu_dumps(body, serializer='json')


def test_the_direct_path_raises_kombus_encode_error():
    with pytest.raises(EncodeError):
        _serialize({'obj': object()}, 'json')

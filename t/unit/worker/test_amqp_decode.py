"""The fast basic-properties decoder gives exactly what py-amqp's gives."""
from __future__ import annotations

import struct
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from amqp import serialization
from amqp.basic_message import Message

from celery import Celery
from celery.transport import amqp_decode
from celery.transport.amqp_frames import DecodingMessage

PY_AMQP = amqp_decode._py_amqp_decoder


def encode(**properties) -> bytes:
    return Message(b'', **properties)._serialize_properties()


def assert_same(buf: bytes) -> None:
    expected = PY_AMQP(buf, 0)
    got = amqp_decode.decode_properties_basic(buf, 0)
    assert got == expected
    assert [type(v) for v in _leaves(got[0])] == [type(v) for v in _leaves(expected[0])]


def _leaves(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_a_task_message_decodes_the_same():
    app = Celery('decode', broker='memory://', set_as_current=False)
    message = app.amqp.as_task_v2(uuid.uuid4().hex, 'tasks.add', args=(1, 2), kwargs={'x': 'é'},
                                  countdown=10, expires=60, time_limit=(3, 5))
    assert_same(encode(content_type='application/json', content_encoding='utf-8',
                       application_headers=message.headers, delivery_mode=2, priority=3,
                       correlation_id='c-id', reply_to='reply.q', expiration='1000',
                       message_id='m-id', timestamp=1700000000, type='t', user_id='guest',
                       app_id='app', cluster_id='cl'))


@pytest.mark.parametrize('value', [
    'text', 'é ünïcödé', '', None, True, False, 0, -5, 2 ** 31 - 1, 2 ** 40, -2 ** 40,
    1.5, Decimal('3.14'), datetime(2024, 1, 2, 3, 4, 5), {'nested': {'deep': [1, 'a', None]}},
    [1, [2, [3]], {'k': 'v'}], [],
])
def test_each_table_value_type_decodes_the_same(value):
    assert_same(encode(application_headers={'key': value, 'after': 'still read'}))


@pytest.mark.parametrize('kind,packed', [
    (b's', struct.pack('>h', -7)), (b'b', struct.pack('>b', -3)), (b'B', b'\xff'),
    (b'U', struct.pack('>h', -300)), (b'u', struct.pack('>H', 65000)),
    (b'i', struct.pack('>I', 4000000000)), (b'l', struct.pack('>q', -1000)),
    (b'L', struct.pack('>q', 2 ** 60)), (b'f', struct.pack('>f', 0.5)),
    (b'x', struct.pack('>I', 3) + b'\x00\x01\x02'), (b'T', struct.pack('>Q', 1700000000)),
])
def test_types_other_clients_send_decode_the_same(kind, packed):
    item = b'\x03key' + kind + packed + b'\x05after' + b'V'
    table = struct.pack('>I', len(item)) + item
    assert_same(struct.pack('>H', 0x2000) + table)


def test_undecodable_text_gives_bytes_as_py_amqp_does():
    item = b'\x03k\xffy' + b'S' + struct.pack('>I', 2) + b'\xc3\x28'
    assert_same(struct.pack('>H', 0x2000) + struct.pack('>I', len(item)) + item)


def test_unknown_table_type_raises_like_py_amqp():
    item = b'\x03key' + b'Z'
    buf = struct.pack('>H', 0x2000) + struct.pack('>I', len(item)) + item
    with pytest.raises(serialization.FrameSyntaxError):
        amqp_decode.decode_properties_basic(buf, 0)


def test_decoding_message_leaves_py_amqp_tables_alone():
    properties = encode(content_type='a/b', priority=1, application_headers={'id': 'x'})
    header = struct.pack('>HxxQ', 60, 3) + properties
    message = DecodingMessage()
    assert message.inbound_header(header) == 12
    assert message.properties == {'content_type': 'a/b', 'priority': 1,
                                  'application_headers': {'id': 'x'}}
    assert message.body_size == 3 and not message.ready
    assert serialization.PROPERTY_CLASSES[60] is PY_AMQP


def test_decoding_message_without_body_is_ready():
    message = DecodingMessage()
    message.inbound_header(struct.pack('>HxxQ', 60, 0) + encode(content_type='a/b'))
    assert message.ready

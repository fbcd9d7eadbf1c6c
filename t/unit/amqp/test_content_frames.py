"""celery.transport.pyamqp.content_frame_writer: the same bytes as py-amqp's frame writer."""
from __future__ import annotations

from types import SimpleNamespace

import amqp
import pytest
from amqp.method_framing import frame_writer

from celery.transport.amqp_properties import PropertiesMessage
from celery.transport.pyamqp import content_frame_writer

PUBLISH = (60, 40)
ARGS = b'\x00\x00\x00\x05queue\x00'
FRAME_MAX = 4096


class Wire:
    """Stands in for py-amqp's socket transport: records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data) -> None:
        self.writes.append(bytes(data))


def message(body, cls=amqp.Message) -> amqp.Message:
    headers = {'lang': 'py', 'task': 'proj.add', 'id': 'id-1', 'shadow': None,
               'retries': 0, 'timelimit': [None, None], 'stamps': {}}
    return cls(body, content_type='application/json', content_encoding='utf-8',
               application_headers=headers, delivery_mode=2, correlation_id='id-1')


def stock_bytes(*frame) -> tuple[bytes, int]:
    connection, wire = SimpleNamespace(frame_max=FRAME_MAX, bytes_sent=0), Wire()
    frame_writer(connection, wire)(*frame)
    return b''.join(wire.writes), connection.bytes_sent


def our_bytes(*frame) -> tuple[bytes, int, int]:
    """The bytes written, frames counted, and writes made by content_frame_writer."""
    connection, wire = SimpleNamespace(frame_max=FRAME_MAX, bytes_sent=0), Wire()
    write = content_frame_writer(connection, wire.write, frame_writer(connection, wire))
    write(*frame)
    return b''.join(wire.writes), connection.bytes_sent, len(wire.writes)


@pytest.mark.parametrize('body', [
    b'[[2, 3], {}, {}]', b'', b'x' * (FRAME_MAX // 2), b'x' * (FRAME_MAX - 200),
    b'x' * (FRAME_MAX * 3 + 7),   # more than one body frame: py-amqp's chunking
])
@pytest.mark.parametrize('cls', [amqp.Message, PropertiesMessage])
def test_a_published_message_is_the_same_bytes(body, cls):
    ours, sent, writes = our_bytes(1, 3, PUBLISH, ARGS, message(body, cls))
    assert (ours, sent) == stock_bytes(1, 3, PUBLISH, ARGS, message(body, cls))
    if len(body) < FRAME_MAX // 2:
        assert writes == 1


@pytest.mark.parametrize('frame', [
    (1, 3, PUBLISH, ARGS, None),                      # a method without content
    (1, 0, (10, 51), '', None),                       # text arguments
    (8, 0, (0, 0), '', None),                         # heartbeat
    (1, 3, PUBLISH, ARGS.decode(), message(b'body')),  # text arguments with content
    (1, 3, PUBLISH, ARGS, message('text body ü')),     # a text body: in its encoding
    (1, 3, PUBLISH, ARGS, message('x' * FRAME_MAX * 2)),  # a long text body
])
def test_other_frames_are_the_same_bytes(frame):
    ours, sent, _ = our_bytes(*frame)
    assert (ours, sent) == stock_bytes(*frame)

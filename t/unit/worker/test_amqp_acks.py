"""Batched ack frames are byte for byte what py-amqp writes for ``basic.ack``."""
from __future__ import annotations

import pytest
from amqp import spec
from amqp.method_framing import frame_writer
from amqp.serialization import dumps

from celery.transport.pyamqp_consumer import ACK_FRAME


class _RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))


class _Connection:
    frame_max = 131072
    bytes_sent = 0


@pytest.mark.parametrize(('channel_id', 'tag', 'multiple'),
                         [(1, 1, False), (7, 2**40 + 3, True), (65535, 2**64 - 1, False)])
def test_ack_frame_matches_py_amqp(channel_id: int, tag: int, multiple: bool):
    transport = _RecordingTransport()
    write_frame = frame_writer(_Connection(), transport)
    write_frame(1, channel_id, spec.Basic.Ack, dumps('Lb', (tag, multiple)), None)
    assert ACK_FRAME.pack(1, channel_id, 13, 60, 80, tag, multiple, 0xCE) == transport.writes[0]

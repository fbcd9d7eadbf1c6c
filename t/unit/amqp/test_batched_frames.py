"""celery.transport.pyamqp: batched publishes write exactly the frames py-amqp writes."""
from __future__ import annotations

from types import SimpleNamespace

import amqp
from amqp.method_framing import frame_writer

from celery.transport.pyamqp import FrameSink, sink_frame_writer

PUBLISH = (60, 40)


class Wire:
    """Stands in for py-amqp's socket transport: records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data) -> None:
        self.writes.append(bytes(data))


def _message(i: int) -> amqp.Message:
    headers = {'lang': 'py', 'task': 'proj.add', 'id': f'id-{i}', 'shadow': None,
               'retries': 0, 'timelimit': [None, None], 'ignore_result': True,
               'stamps': {}, 'group_index': i}
    return amqp.Message(f'[[{i}, 1], {{}}, {{}}]', content_type='application/json',
                        content_encoding='utf-8', application_headers=headers,
                        delivery_mode=2, correlation_id=f'id-{i}', reply_to='')


def _frames(writer_factory, collect: bool) -> tuple[bytes, int]:
    connection = SimpleNamespace(frame_max=131072, bytes_sent=0)
    wire = Wire()
    write = writer_factory(connection, wire)
    if collect:
        connection.frame_sink.collect()
    for i in range(50):
        write(1, 1, PUBLISH, b'\x00\x00\x00\x05queue\x00', _message(i))
    if collect:
        connection.frame_sink.stop()
    return b''.join(wire.writes), len(wire.writes)


def test_batched_frames_are_stock_frames():
    stock, stock_writes = _frames(frame_writer, collect=False)
    batched, batched_writes = _frames(sink_frame_writer, collect=True)
    assert batched == stock
    assert stock_writes == 50 and batched_writes == 1


def test_sink_writes_through_when_not_collecting():
    single, writes = _frames(sink_frame_writer, collect=False)
    assert single == _frames(frame_writer, collect=False)[0] and writes == 50


def test_sink_discard_drops_unwritten_frames():
    wire = Wire()
    sink = FrameSink(wire)
    sink.collect()
    sink.write(memoryview(b'abc'))
    sink.stop(discard=True)
    sink.write(b'def')
    assert wire.writes == [b'def']


def test_sink_keeps_frames_until_told_to_write():
    # A batch writes at message boundaries (PublishBatch.count_kept), never
    # in the middle of a message's frames: a discard then drops whole messages.
    from celery.transport.pyamqp import FLUSH_BYTES
    wire = Wire()
    sink = FrameSink(wire)
    sink.collect()
    sink.write(b'x' * FLUSH_BYTES)
    sink.write(b'y')
    assert wire.writes == [] and sink.size == FLUSH_BYTES + 1
    sink.flush()
    assert wire.writes == [b'x' * FLUSH_BYTES + b'y'] and sink.flushes == 1
    sink.flush()   # nothing kept: no write
    assert len(wire.writes) == 1 and sink.flushes == 1

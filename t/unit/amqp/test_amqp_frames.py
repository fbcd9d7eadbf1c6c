"""celery.transport.amqp_frames: each whole frame that has arrived is handed over once, in order."""
from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from amqp.exceptions import UnexpectedFrame

from celery.transport.amqp_frames import FrameReadingTransport
from celery.transport.pyamqp_consumer import Transport


def frame(channel: int, payload: bytes, frame_type: int = 1) -> bytes:
    """One AMQP frame as it is on the wire."""
    return struct.pack('>BHI', frame_type, channel, len(payload)) + payload + b'\xce'


@pytest.fixture
def wire() -> Iterator[tuple[FrameReadingTransport, socket.socket]]:
    """The transport on one end of a socket pair; the test writes the broker's end."""
    ours, broker = socket.socketpair()
    transport = FrameReadingTransport('127.0.0.1:5672')
    transport.sock = ours
    transport._setup_transport()
    transport.connected = True
    yield transport, broker
    ours.close()
    broker.close()


def test_every_whole_frame_of_a_read_is_handed_over(wire):
    transport, broker = wire
    broker.sendall(frame(1, b'a') + frame(2, b'bb') + frame(0, b'', frame_type=8))
    got: list[Any] = []
    transport.read_available_frames(got.append)
    assert got == [(1, 1, b'a'), (1, 2, b'bb'), (8, 0, b'')]


def test_a_partial_frame_waits_for_the_rest(wire):
    transport, broker = wire
    whole = frame(1, b'payload')
    broker.sendall(frame(1, b'x') + whole[:5])
    got: list[Any] = []
    transport.read_available_frames(got.append)
    assert got == [(1, 1, b'x')]
    broker.sendall(whole[5:])
    transport.read_available_frames(got.append)
    assert got == [(1, 1, b'x'), (1, 1, b'payload')]


def test_nothing_arrived_is_not_an_error(wire):
    transport, _ = wire
    got: list[Any] = []
    transport.read_available_frames(got.append)
    assert got == []
    assert not transport.has_whole_frame()


def test_frames_left_by_a_failing_handler_are_handed_over_next_time(wire):
    transport, broker = wire
    broker.sendall(frame(1, b'boom') + frame(2, b'next') + frame(3, b'last'))
    got: list[Any] = []

    def on_frame(f: Any) -> None:
        if f[2] == b'boom':
            raise KeyError('handler failed')
        got.append(f)
    with pytest.raises(KeyError):
        transport.read_available_frames(on_frame)
    # The socket is drained: only the read buffer holds them now.
    assert transport.has_whole_frame()
    transport.read_available_frames(on_frame)
    assert got == [(1, 2, b'next'), (1, 3, b'last')]
    assert not transport.has_whole_frame()


def test_a_handler_reading_frames_itself_takes_the_next_ones(wire):
    """A synchronous call inside a handler reads its reply the blocking way."""
    transport, broker = wire
    broker.sendall(frame(1, b'call') + frame(1, b'reply') + frame(2, b'after'))
    got: list[Any] = []

    def on_frame(f: Any) -> None:
        got.append(f)
        if f[2] == b'call':
            got.append(('read', transport.read_frame()))
    transport.read_available_frames(on_frame)
    assert got == [(1, 1, b'call'), ('read', (1, 1, b'reply')), (1, 2, b'after')]


def test_a_bad_frame_end_fails_the_connection(wire):
    transport, broker = wire
    broker.sendall(frame(1, b'x')[:-1] + b'\x00')
    with pytest.raises(UnexpectedFrame):
        transport.read_available_frames(lambda f: None)
    assert not transport.connected


def test_the_broker_closing_the_socket_fails_the_connection(wire):
    transport, broker = wire
    broker.close()
    with pytest.raises(ConnectionResetError):
        transport.read_available_frames(lambda f: None)
    assert not transport.connected


class _Loop:
    def __init__(self) -> None:
        self.soon: list[Any] = []

    def call_soon(self, callback: Any, *args: Any) -> None:
        self.soon.append((callback, args))


class _Client:
    """The parts of a py-amqp connection the transport's reader uses."""

    def __init__(self, transport: FrameReadingTransport, on_frame: Any) -> None:
        self.transport = transport
        self.on_inbound_frame = on_frame

    @property
    def connected(self) -> bool:
        return self.transport.connected


def test_on_readable_comes_back_for_frames_a_failing_handler_left(wire):
    transport, broker = wire
    broker.sendall(frame(1, b'boom') + frame(2, b'next'))
    got: list[Any] = []

    def on_frame(f: Any) -> None:
        if f[2] == b'boom':
            raise KeyError('handler failed')
        got.append(f)
    client, loop = _Client(transport, on_frame), _Loop()
    kombu_transport = Transport(client=None)
    with pytest.raises(KeyError):
        kombu_transport.on_readable(client, loop)
    [(callback, args)] = loop.soon
    callback(*args)
    assert got == [(1, 2, b'next')]
    assert len(loop.soon) == 1   # nothing left: not scheduled again

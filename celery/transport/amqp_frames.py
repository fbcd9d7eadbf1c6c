"""Receiving AMQP frames for the worker: whole frames per read, properties decoded faster.

Extends :class:`amqp.transport.TCPTransport` and :class:`amqp.basic_message.Message`
(py-amqp), and replaces py-amqp's frame handler through the ``frame_handler``
argument :class:`amqp.Connection` takes, because on the worker's event loop
the stock path is the largest cost of receiving a task:

* kombu reads with ``drain_events(timeout=0)`` until it fails: each frame
  switches the socket to non-blocking and back (two system calls), is read in
  two or three ``recv`` calls, costs a trip through the loop's ready queue,
  and the end of the data is signalled by an exception.
  :meth:`FrameReadingTransport.read_available_frames` takes every byte that
  has arrived with one ``recv`` (``MSG_DONTWAIT``: the socket's mode is never
  touched), cuts the whole frames out of it and hands each to the frame
  handler; a partial frame waits in the read buffer for the next read.
* py-amqp decodes each header of a message's properties with a function
  call per value; :class:`DecodingMessage` decodes them with
  :func:`celery.transport.amqp_decode.decode_properties_basic` (same result).

Handlers may read from the connection themselves while a batch is being cut
(a synchronous method waiting for its reply): their reads first take back the
frames not yet handed over, so nothing is read twice or skipped.  Used by
:mod:`celery.transport.pyamqp_consumer`; ``CELERY_STOCK_TRANSPORTS=1`` or the
transport option ``fast_path=False`` switches back to the stock path.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from struct import Struct, unpack_from
from typing import Any

from amqp import spec
from amqp.basic_message import Message
from amqp.exceptions import UnexpectedFrame
from amqp.transport import TCPTransport

from celery.transport.amqp_decode import decode_properties_basic

__all__ = ('DecodingMessage', 'FrameReadingTransport', 'frame_handler', 'READ_BYTES')

#: Most bytes taken per read: a full prefetch window of small tasks.
READ_BYTES = 64 * 1024

#: An AMQP frame header: type (octet), channel (short), payload size (long).
FRAME_HEADER = Struct('>BHI')
FRAME_END = 0xCE
_METHOD, _HEADER, _BODY, _HEARTBEAT = 1, 2, 3, 8
_CONTENT_HEADER = Struct('>HxxQ')

#: Methods followed by a content header (and body) frame.
CONTENT_METHODS = frozenset((spec.Basic.Return, spec.Basic.Deliver, spec.Basic.GetOk))

Frame = tuple[int, int, bytes]


class DecodingMessage(Message):  # type: ignore[misc]  # py-amqp ships no types
    """py-amqp's message, with its basic properties decoded by our faster decoder."""

    def inbound_header(self, buf: bytes, offset: int = 0) -> int:
        """Take the content header frame: body size and properties."""
        class_id, self.body_size = _CONTENT_HEADER.unpack_from(buf, offset)
        if class_id != spec.Basic.CLASS_ID:
            end: int = super().inbound_header(buf, offset)
            return end
        offset += 12
        self.properties, _ = decode_properties_basic(buf, offset)
        if not self.body_size:
            self.ready = True
        return offset


def frame_handler(connection: Any, callback: Callable[..., Any]) -> Callable[[Frame], bool]:
    """The handler of inbound frames for ``connection``, assembling :class:`DecodingMessage`."""
    expected: dict[int, int] = {}
    partial: dict[int, DecodingMessage] = {}

    def on_frame(frame: Frame) -> bool:
        frame_type, channel, buf = frame
        connection.bytes_recv += 1
        if frame_type == _HEARTBEAT:
            return False
        wanted = expected.get(channel, _METHOD)
        if frame_type != wanted:
            raise UnexpectedFrame(
                f'Received frame {frame_type} while expecting type: {wanted}')
        if frame_type == _METHOD:
            method = unpack_from('>HH', buf, 0)
            if method in CONTENT_METHODS:
                partial[channel] = DecodingMessage(frame_method=method, frame_args=buf)
                expected[channel] = _HEADER
                return False
            callback(channel, method, buf, None)
            return True
        message = partial[channel]
        if frame_type == _HEADER:
            message.inbound_header(buf)
        else:
            message.inbound_body(buf)
        if not message.ready:
            expected[channel] = _BODY
            return False
        expected[channel] = _METHOD
        del partial[channel]
        callback(channel, message.frame_method, message.frame_args, message)
        return True

    return on_frame


class FrameReadingTransport(TCPTransport):  # type: ignore[misc]  # py-amqp ships no types
    """py-amqp's TCP transport that can hand over every whole frame that has arrived."""

    #: Frames cut from the last read and not handed over yet, and where they start.
    unread: bytes | None = None
    unread_offset = 0
    #: py-amqp's buffer of bytes read and not yet cut into frames.
    _read_buffer: bytes

    def _read(self, n: int, initial: bool = False) -> bytes:
        # py-amqp's blocking reads (read_frame) come here: hand back first
        # what a batch being cut has not given out yet.
        self.give_back_unread()
        data: bytes = super()._read(n, initial)
        return data

    def read_available_frames(self, on_frame: Callable[[Frame], Any]) -> None:
        """Read what has arrived without blocking; hand each whole frame to ``on_frame``.

        Whole frames already in the read buffer are handed over too, even when
        nothing new has arrived: a handler that raised left them there.
        """
        try:
            data = self.sock.recv(READ_BYTES, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError:
            self.connected = False
            raise
        else:
            if not data:
                self.connected = False
                raise ConnectionResetError('Server unexpectedly closed connection')
        pending = self._read_buffer
        if data is None:
            if not pending:
                return
            data = pending
        elif pending:
            data = pending + data
        self.unread, self.unread_offset = data, 0
        self._read_buffer = b''
        try:
            self._hand_over_frames(on_frame)
        finally:
            self.give_back_unread()

    def has_whole_frame(self) -> bool:
        """Whether the read buffer holds a whole frame (nothing on the socket may say so)."""
        buffered = self._read_buffer
        if len(buffered) < 8:
            return False
        size: int = FRAME_HEADER.unpack_from(buffered, 0)[2]
        return len(buffered) > 7 + size

    def _hand_over_frames(self, on_frame: Callable[[Frame], Any]) -> None:
        unpack_header = FRAME_HEADER.unpack_from
        while True:
            data, start = self.unread, self.unread_offset
            if data is None:
                # A handler read from the socket itself: what it left over
                # is in the read buffer; carry on from there.
                data, start = self._read_buffer, 0
                self._read_buffer = b''
                self.unread, self.unread_offset = data, 0
            if len(data) - start < 8:   # header and frame end at least
                return
            frame_type, channel, size = unpack_header(data, start)
            end = start + 7 + size
            if end >= len(data):
                return
            if data[end] != FRAME_END:
                self.connected = False
                raise UnexpectedFrame(
                    f'Received frame_end {data[end]:#04x} while expecting 0xce')
            self.unread_offset = end + 1
            on_frame((frame_type, channel, data[start + 7:end]))

    def give_back_unread(self) -> None:
        """Put the frames not handed over yet in front of the read buffer."""
        unread = self.unread
        if unread is not None:
            rest = unread[self.unread_offset:]
            self.unread = None
            if rest:
                self._read_buffer = rest + self._read_buffer

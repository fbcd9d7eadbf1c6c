"""Read AMQP frames straight off the socket when the event loop finds it readable.

kombu's reader calls ``drain_events(timeout=0)`` until it fails: each frame
switches the socket to non-blocking and back (two system calls), reads the
exact bytes of the frame in two or three ``recv`` calls, each message costs a
trip through the loop's ready queue, and the end of the data is signalled by
an exception.  :class:`FrameReader` takes every byte that has arrived with one
``recv`` (``MSG_DONTWAIT``, so the socket's mode is never touched), cuts the
whole frames out of it and hands each to py-amqp's frame handler; a partial
frame waits in py-amqp's read buffer for the next read.

Handlers may read from the connection themselves while a batch is being cut
(a synchronous method waiting for its reply): their reads first take back the
frames not yet handed over, so nothing is read twice or skipped.
"""
from __future__ import annotations

import socket
from struct import Struct
from typing import Any

from amqp.exceptions import UnexpectedFrame

__all__ = ('FrameReader', 'install')

#: Most bytes taken per read: a full prefetch window of small tasks.
READ_BYTES = 64 * 1024

#: An AMQP frame header: type (octet), channel (short), payload size (long).
FRAME_HEADER = Struct('>BHI')
FRAME_END = 0xCE


class FrameReader:
    """Feed whole AMQP frames from a py-amqp connection's socket to its frame handler."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.transport = transport = client.transport
        self.sock = transport.sock
        self._unread: bytes | None = None   # cut frames not yet handed over
        self._offset = 0
        blocking_read = transport._read

        def read(n: int, initial: bool = False) -> bytes:
            self._give_back()
            return blocking_read(n, initial)
        # py-amqp reads through this attribute (read_frame looks it up per frame).
        transport._read = read

    def on_readable(self) -> None:
        """Handle every whole frame that has arrived (called by the hub)."""
        transport = self.transport
        if transport.sock is not self.sock:
            return   # a stale registration: the connection was replaced
        try:
            data = self.sock.recv(READ_BYTES, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            transport.connected = False
            raise
        if not data:
            transport.connected = False
            raise ConnectionResetError('Server unexpectedly closed connection')
        pending = transport._read_buffer
        self._unread = pending + data if pending else data
        self._offset = 0
        transport._read_buffer = b''
        try:
            self._hand_over_frames()
        finally:
            self._give_back()

    def _hand_over_frames(self) -> None:
        on_frame = self.client.on_inbound_frame
        unpack_header = FRAME_HEADER.unpack_from
        while True:
            data, start = self._unread, self._offset
            if data is None:
                # A handler read from the socket itself: what it left over
                # is in py-amqp's buffer; carry on from there.
                data, start = self.transport._read_buffer, 0
                self.transport._read_buffer = b''
                self._unread, self._offset = data, 0
            if len(data) - start < 8:   # header and frame end at least
                return
            frame_type, channel, size = unpack_header(data, start)
            end = start + 7 + size
            if end >= len(data):
                return
            if data[end] != FRAME_END:
                self.transport.connected = False
                raise UnexpectedFrame(
                    f'Received frame_end {data[end]:#04x} while expecting 0xce')
            self._offset = end + 1
            on_frame((frame_type, channel, data[start + 7:end]))

    def _give_back(self) -> None:
        # Put the frames not handed over yet in front of py-amqp's buffer.
        if self._unread is not None:
            rest = self._unread[self._offset:]
            self._unread = None
            if rest:
                self.transport._read_buffer = rest + self.transport._read_buffer


def install(connection: Any, hub: Any) -> FrameReader | None:
    """Read ``connection``'s frames in ``hub`` when it is plain-TCP py-amqp."""
    from amqp.transport import TCPTransport
    client = connection.connection
    transport = getattr(client, 'transport', None)
    if type(transport) is not TCPTransport or transport.sock is None:
        return None
    reader = FrameReader(client)
    hub.add_reader(transport.sock, reader.on_readable)
    return reader

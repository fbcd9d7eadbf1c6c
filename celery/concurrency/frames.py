"""Messages on the per-child channels of :mod:`celery.concurrency.procpool`.

Results travel on a pipe as length-prefixed pickles.  The pipe has exactly
one writer and one reader, so no lock guards it: a child killed in the
middle of a write leaves a cut-off message behind, which the reader throws
away together with the pipe.

Jobs travel on a ``SOCK_SEQPACKET`` socket as datagrams: the kernel hands
each datagram whole to one reader, so the parent can take back a job its
child has not read yet without a lock the two would share.  A job larger
than :data:`DATAGRAM_PAYLOAD` goes in several datagrams.
"""
from __future__ import annotations

import os
import pickle
import struct
from typing import Any

from billiard.reduction import ForkingPickler

__all__ = ('encode', 'FrameReader', 'write_all', 'datagrams', 'read_datagrams', 'is_last',
           'DATAGRAM_PAYLOAD')

_LENGTH = struct.Struct('!I')

#: Most bytes of a job in one datagram (four fit in the default socket buffer).
DATAGRAM_PAYLOAD = 64 * 1024
#: First byte of a datagram: whether more of the same message follow.
_MORE, _LAST = b'\x01', b'\x00'


def _dumps(obj: Any) -> bytes:
    try:
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - retried with billiard's reducers (sockets, pipes)
        return bytes(ForkingPickler.dumps(obj))


def encode(obj: object) -> bytes:
    """Return ``obj`` pickled behind its length."""
    data = _dumps(obj)
    return _LENGTH.pack(len(data)) + data


def datagrams(obj: object) -> list[bytes]:
    """Return ``obj`` pickled, as the datagrams that carry it."""
    data = _dumps(obj)
    if len(data) <= DATAGRAM_PAYLOAD:
        return [_LAST + data]
    pieces = [data[i:i + DATAGRAM_PAYLOAD] for i in range(0, len(data), DATAGRAM_PAYLOAD)]
    return [_MORE + piece for piece in pieces[:-1]] + [_LAST + pieces[-1]]


def read_datagrams(fd: int) -> tuple[bool, Any]:
    """Block for a message on socket ``fd``: ``(True, obj)``, or ``(False, None)`` at EOF."""
    parts = []
    while True:
        data = os.read(fd, DATAGRAM_PAYLOAD + 1)
        if not data:
            return False, None
        parts.append(data[1:])
        if data[:1] == _LAST:
            return True, pickle.loads(b''.join(parts))


def is_last(datagram: bytes) -> bool:
    """Whether ``datagram`` ends its message."""
    return datagram[:1] == _LAST


class FrameReader:
    """Reassembles messages from the chunks read off a pipe."""

    __slots__ = ('_buffer',)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes | memoryview) -> list[Any]:
        """Add ``chunk`` (copied if kept); return the messages completed by it, unpickled."""
        buffer = self._buffer
        if buffer:
            buffer += chunk
            data: bytes | bytearray | memoryview = buffer
        else:
            data = chunk   # the common case: whole messages, parsed where they are
        messages, offset, size = [], 0, len(data)
        while size - offset >= _LENGTH.size:
            end = offset + _LENGTH.size + _LENGTH.unpack_from(data, offset)[0]
            if end > size:
                break
            messages.append(pickle.loads(data[offset + _LENGTH.size:end]))
            offset = end
        if data is buffer:
            del buffer[:offset]
        elif offset < size:
            buffer += data[offset:]
        return messages

    @property
    def partial(self) -> bool:
        """Whether a message has been cut off (its writer died while writing)."""
        return bool(self._buffer)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the blocking descriptor ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

"""Messages on the per-child channels of the prefork pool."""
from __future__ import annotations

import socket

import pytest

from celery.concurrency.frames import (
    DATAGRAM_PAYLOAD,
    FrameReader,
    datagrams,
    encode,
    is_last,
    read_datagrams,
)


def test_frame_reader_returns_whole_messages_and_keeps_a_cut_off_one():
    data = encode(('a', 1)) + encode(b'x' * 1000) + encode(None)
    reader = FrameReader()
    assert reader.feed(memoryview(data)[:7]) == []
    assert reader.partial
    assert reader.feed(data[7:-3]) == [('a', 1), b'x' * 1000]
    assert reader.feed(data[-3:]) == [None]
    assert not reader.partial


def test_frame_reader_copies_what_it_keeps_of_a_reused_buffer():
    data = encode('first') + encode('second')
    buffer = bytearray(data)
    reader = FrameReader()
    assert reader.feed(memoryview(buffer)[:len(data) - 2]) == ['first']
    buffer[:] = b'\0' * len(buffer)   # the caller reuses its buffer
    assert reader.feed(data[-2:]) == ['second']


def test_a_large_message_travels_in_pieces_each_read_whole():
    big = b'j' * (DATAGRAM_PAYLOAD * 2 + 10)
    pieces = datagrams(('job', big))
    assert len(pieces) == 3
    assert [is_last(p) for p in pieces] == [False, False, True]
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, theirs:
        for piece in [*datagrams('small'), *pieces]:
            ours.send(piece)
        ours.shutdown(socket.SHUT_WR)
        assert read_datagrams(theirs.fileno()) == (True, 'small')
        assert read_datagrams(theirs.fileno()) == (True, ('job', big))
        assert read_datagrams(theirs.fileno()) == (False, None)


def test_unpicklable_message_fails_to_encode():
    import threading
    with pytest.raises(TypeError, match='pickle'):
        encode(threading.Lock())

"""Read ahead on the AMQP socket when the event loop drains it.

py-amqp reads each frame with two or three ``recv`` calls of exactly the
bytes it needs next: three frames per task message make that up to nine
system calls per task.  py-amqp keeps whatever a ``recv`` returns beyond the
request in its read buffer for the next frame, so asking the socket for up to
:data:`READ_AHEAD_BYTES` when it is non-blocking (the event loop drains it
with a zero timeout until it would block) takes every frame that has arrived
in one call.  Blocking reads (waiting for a method reply) stay exact.

Frames left in the buffer would not wake the poller, so each loop turn
drains them before polling.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ('install',)

#: Most bytes taken per ``recv``: a full prefetch window of small tasks, while
#: keeping py-amqp's buffer slicing cheap.
READ_AHEAD_BYTES = 16 * 1024

#: An AMQP frame header: nothing whole can be buffered in fewer bytes.
FRAME_HEADER_SIZE = 7


def install(connection: Any, hub: Any,
            after_drain: Callable[[], None] | None = None) -> Callable[[], None] | None:
    """Read ahead on ``connection`` (a kombu connection) when it is plain TCP py-amqp.

    Returns the hub tick callback that drains frames left in the buffer and
    then calls ``after_drain`` (tick callbacks run in no set order: acks made
    for the drained messages must still be written before the poll); the
    caller removes it from ``hub.on_tick`` when the connection goes.
    """
    from amqp.transport import TCPTransport
    client = connection.connection
    transport = getattr(client, 'transport', None)
    if type(transport) is not TCPTransport or transport.sock is None:
        return None
    sock = transport.sock
    recv, gettimeout = sock.recv, sock.gettimeout

    def recv_ahead(size: int) -> bytes:
        if gettimeout() == 0.0:
            return recv(READ_AHEAD_BYTES if size < READ_AHEAD_BYTES else size)
        return recv(size)

    transport._quick_recv = recv_ahead
    on_readable = connection.transport.on_readable

    def drain_buffered() -> None:
        # Each read takes one message's frames (or fails): loop until no
        # whole frame can be left, as the poll after this would not wake for it.
        if transport.sock is not sock or len(transport._read_buffer) < FRAME_HEADER_SIZE:
            return
        while transport.sock is sock and len(transport._read_buffer) >= FRAME_HEADER_SIZE:
            on_readable(client, hub)
        if after_drain is not None:
            after_drain()

    hub.on_tick.add(drain_buffered)
    return drain_buffered

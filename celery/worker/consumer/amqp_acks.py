"""One socket write for all the acks of an event-loop turn (AMQP).

py-amqp writes every ``basic.ack`` to the socket on its own: with a full
prefetch window that is a system call per task.  :class:`BatchedAcks` keeps
the acks made while the event loop handles one turn's events and writes
their frames together in the next turn's tick, right before the loop polls,
so no ack waits on I/O.  Acks from any thread but the loop's are written at
once, as before.
"""
from __future__ import annotations

from struct import Struct
from threading import get_ident
from typing import Any

__all__ = ('BatchedAcks', 'install')

#: A whole ``basic.ack`` method frame: type 1, channel, payload size 13, class
#: 60 method 80, delivery tag, the ``multiple`` bit, frame end.
ACK_FRAME = Struct('>BHIHHQBB')
_METHOD, _ACK_PAYLOAD_SIZE, _BASIC, _ACK, _FRAME_END = 1, 13, 60, 80, 0xCE


class BatchedAcks:
    """Buffer a py-amqp channel's ``basic_ack`` calls per hub turn."""

    def __init__(self, channel: Any, hub: Any) -> None:
        self.channel = channel
        self.hub = hub
        self._loop_thread = get_ident()
        self._pending: list[bytes] = []
        self._write_ack = channel.basic_ack
        channel.basic_ack = self.basic_ack
        hub.on_tick.add(self.flush)

    def basic_ack(self, delivery_tag: int, multiple: bool = False, **kwargs: Any) -> None:
        """Queue the ack for this turn's write (from the loop's thread)."""
        if get_ident() != self._loop_thread:
            self.flush()
            self._write_ack(delivery_tag, multiple=multiple, **kwargs)
            return
        self._pending.append(ACK_FRAME.pack(
            _METHOD, self.channel.channel_id, _ACK_PAYLOAD_SIZE, _BASIC, _ACK,
            delivery_tag, bool(multiple), _FRAME_END))

    def flush(self) -> None:
        """Write every queued ack frame in one go."""
        frames, self._pending = self._pending, []
        if not frames:
            return
        connection = self.channel.connection
        if connection is None or not self.channel.is_open:
            # Let py-amqp raise its usual error for a closed channel.
            for frame in frames:
                self._write_ack(ACK_FRAME.unpack(frame)[5])
            return
        connection.transport.write(b''.join(frames))
        connection.bytes_sent += 1   # counts as traffic for heartbeats

    def close(self) -> None:
        """Write what is queued and write later acks at once (the loop has stopped)."""
        self.hub.on_tick.discard(self.flush)
        # Tasks finishing during a warm shutdown ack on this channel after the
        # loop's last turn: nothing would flush a buffered ack then.
        self.channel.__dict__.pop('basic_ack', None)
        self.flush()


def install(channel: Any, hub: Any) -> BatchedAcks | None:
    """Batch ``channel``'s acks in ``hub`` when it is a py-amqp channel."""
    if not hasattr(channel, 'channel_id') or not hasattr(channel, 'is_open') \
            or getattr(getattr(channel, 'connection', None), 'transport', None) is None:
        return None
    return BatchedAcks(channel, hub)

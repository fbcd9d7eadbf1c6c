"""The py-amqp transport for consuming: frames read per event-loop wakeup, acks batched.

Extends :class:`celery.transport.pyamqp.Transport` (kombu's py-amqp
transport, with its Connection and Channel) for the connections an app
reads from (``app.connection_for_read()``, the worker's consumer):

* the connection's socket is a
  :class:`~celery.transport.amqp_frames.FrameReadingTransport` and its frame
  handler builds :class:`~celery.transport.amqp_frames.DecodingMessage`
  (see :mod:`celery.transport.amqp_frames`); when the event loop finds the
  socket readable, :meth:`Transport.on_readable` hands over every whole frame
  that has arrived, instead of kombu's ``drain_events(timeout=0)`` loop;
* :meth:`Channel.batch_acks` makes the channel keep the ``basic.ack`` frames
  of one event-loop turn and write them with one system call in the next
  turn's tick, right before the loop polls (py-amqp writes each ack on its
  own: a system call per task).

The bytes on the wire are py-amqp's, so stock kombu consumers share the
queues.  ``CELERY_STOCK_TRANSPORTS=1``, or the transport option
``fast_path=False``, switches back to kombu's stock transport (see
:func:`celery.transport.fast_path_enabled`).
"""
from __future__ import annotations

from struct import Struct
from threading import get_ident
from typing import Any

from amqp.exceptions import RecoverableConnectionError
from kombu.transport import pyamqp as kombu_pyamqp

from celery.transport import pyamqp
from celery.transport.amqp_frames import FrameReadingTransport, frame_handler

__all__ = ('AckBatch', 'Channel', 'Connection', 'SSLTransport', 'Transport', 'ACK_FRAME')

#: A whole ``basic.ack`` method frame: type 1, channel, payload size 13, class
#: 60 method 80, delivery tag, the ``multiple`` bit, frame end.
ACK_FRAME = Struct('>BHIHHQBB')
_METHOD, _ACK_PAYLOAD_SIZE, _BASIC, _ACK, _FRAME_END = 1, 13, 60, 80, 0xCE


class AckBatch:
    """The ``basic.ack`` frames a channel keeps during one turn of an event loop."""

    def __init__(self, channel: Channel, hub: Any) -> None:
        self.channel = channel
        self.hub = hub
        self.loop_thread = get_ident()
        self.frames: list[bytes] = []
        hub.on_tick.add(self.flush)

    def add(self, delivery_tag: int, multiple: bool) -> None:
        """Keep the ack frame for this turn's write."""
        self.frames.append(ACK_FRAME.pack(
            _METHOD, self.channel.channel_id, _ACK_PAYLOAD_SIZE, _BASIC, _ACK,
            delivery_tag, bool(multiple), _FRAME_END))

    def flush(self) -> None:
        """Write every kept ack frame in one go."""
        frames, self.frames = self.frames, []
        if not frames:
            return
        channel = self.channel
        connection = channel.connection
        if connection is None or not channel.is_open:
            # Let py-amqp raise its usual error for a closed channel.
            for frame in frames:
                fields = ACK_FRAME.unpack(frame)
                channel.write_ack(fields[5], bool(fields[6]))
            return
        data = b''.join(frames)
        sink = connection.frame_sink
        if sink is not None:
            sink.write_now(data)
        else:   # a frame writer of the caller's own
            connection.transport.write(data)
        connection.bytes_sent += 1   # counts as traffic for heartbeats

    def close(self) -> None:
        """Write what is kept; from now on the channel writes each ack at once."""
        self.hub.on_tick.discard(self.flush)
        # Tasks finishing during a warm shutdown ack after the loop's last
        # turn: nothing would flush a kept ack then.
        if self.channel.ack_batch is self:
            self.channel.ack_batch = None
        self.flush()


class Channel(pyamqp.Channel):
    """py-amqp channel that can batch its acks per event-loop turn."""

    ack_batch: AckBatch | None = None

    def batch_acks(self, hub: Any) -> AckBatch:
        """Keep the acks made in ``hub``'s thread and write them once per loop turn."""
        if self.ack_batch is not None:
            self.ack_batch.close()
        self.ack_batch = AckBatch(self, hub)
        return self.ack_batch

    def basic_ack(self, delivery_tag: int, multiple: bool = False,
                  argsig: str = 'Lb') -> None:
        """Acknowledge a message: kept for the turn's write when batching in the loop's thread."""
        batch = self.ack_batch
        if batch is None:
            super().basic_ack(delivery_tag, multiple, argsig)
        elif get_ident() != batch.loop_thread:
            # Another thread's ack must not overtake the ones kept before it.
            batch.flush()
            super().basic_ack(delivery_tag, multiple, argsig)
        else:
            batch.add(delivery_tag, multiple)

    def write_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        """Write a ``basic.ack`` now, as py-amqp does."""
        super().basic_ack(delivery_tag, multiple)


class Connection(pyamqp.Connection):
    """py-amqp connection reading through a :class:`FrameReadingTransport`."""

    Channel = Channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault('frame_handler', frame_handler)
        super().__init__(*args, **kwargs)

    def Transport(self, host: str, connect_timeout: float | None,  # noqa: N802 (py-amqp's name)
                  ssl: Any = False,
                  read_timeout: float | None = None, write_timeout: float | None = None,
                  socket_settings: Any = None, **kwargs: Any) -> Any:
        """A :class:`FrameReadingTransport` for plain TCP; py-amqp's own for TLS."""
        if ssl:
            return super().Transport(host, connect_timeout, ssl, read_timeout,
                                     write_timeout, socket_settings, **kwargs)
        return FrameReadingTransport(
            host, connect_timeout=connect_timeout, read_timeout=read_timeout,
            write_timeout=write_timeout, socket_settings=socket_settings, **kwargs)


class Transport(pyamqp.Transport):
    """kombu's py-amqp transport for consumers (see the module's header)."""

    Connection = Connection

    def on_readable(self, connection: Any, loop: Any) -> None:
        """Hand every frame that has arrived to the connection (called by the event loop)."""
        if not connection.connected:
            raise RecoverableConnectionError('Socket was disconnected')
        transport = connection.transport
        if not isinstance(transport, FrameReadingTransport):
            super().on_readable(connection, loop)  # type: ignore[no-untyped-call]
            return
        try:
            transport.read_available_frames(connection.on_inbound_frame)
        finally:
            if transport.connected and transport.has_whole_frame():
                # A handler raised with frames left in the read buffer: the
                # socket need not become readable again, so handle them on
                # the loop's next turn (kombu's reader goes on that way too).
                loop.call_soon(self.on_readable, connection, loop)


class SSLTransport(Transport, kombu_pyamqp.SSLTransport):
    """``amqps://``: kombu's TLS py-amqp transport for consumers (reads the stock way)."""

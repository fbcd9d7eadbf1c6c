"""kombu's py-amqp transport with batched publishing (``Producer.batch()``).

Extends :class:`kombu.transport.pyamqp.Transport` (its Connection and
Channel) because the stock transport does not implement kombu's publish
batches: py-amqp writes every message with its own ``sendall`` and polls the
socket before each publish, which costs more than building the message.
Inside a batch the frames py-amqp builds (byte for byte the same) are
collected and written with one ``sendall``.  With publisher confirms
(``confirm_publish``) py-amqp waits for the broker's ack after every
publish; a batch's channel (:class:`ConfirmChannel`, py-amqp's channel
counting its publishes through the public ``send_method``, ``open`` and
``confirm_select``) writes the messages and then waits once for all their
acks (:mod:`celery.transport.amqp_confirms`).  Messages are
:class:`~celery.transport.amqp_properties.PropertiesMessage`: the same
bytes, with the properties encoded faster.  Switch back to the stock
transport with ``CELERY_STOCK_TRANSPORTS=1`` (see :mod:`celery.transport`).
"""
from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable
from struct import Struct
from typing import Any

from amqp import spec
from amqp.exceptions import RecoverableConnectionError
from amqp.method_framing import frame_writer
from amqp.serialization import dumps
from kombu.transport import pyamqp

from celery.transport.amqp_confirms import ConfirmTracker
from celery.transport.amqp_properties import PropertiesMessage, PropertiesTemplate, UnsupportedValue

__all__ = ('Transport', 'SSLTransport', 'Connection', 'Channel', 'ConfirmChannel', 'FrameSink',
           'PublishBatch', 'ConfirmPublishBatch', 'content_frame_writer', 'content_frames')

#: Bytes collected before a batch writes them out on its own.
FLUSH_BYTES = 1 << 18

_PUBLISH = spec.Basic.Publish

#: Encoded ``basic.publish`` arguments by destination (few: the task queues).
_PUBLISH_ARGS: dict[tuple[str, str, bool, bool], bytes] = {}


def _publish_args(exchange: str, routing_key: str, mandatory: bool, immediate: bool) -> bytes:
    """``basic.publish``'s encoded arguments, as py-amqp encodes them."""
    key = (exchange, routing_key, mandatory, immediate)
    args = _PUBLISH_ARGS.get(key)
    if args is None:
        args = dumps('Bssbb', (0, *key))
        if len(_PUBLISH_ARGS) < 1024:
            _PUBLISH_ARGS[key] = args
    return args


class FrameSink:
    """The ``write`` py-amqp's frame writer calls: to the socket, or into a batch."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.pending: list[bytes] | None = None
        self.size = 0
        #: Writes of kept frames so far (a batch tells from it what reached the socket).
        self.flushes = 0
        # py-amqp's frame writer serializes its own writes; frames written
        # around it (a consumer channel's batched acks) take this lock too,
        # so two threads never interleave bytes on the socket.
        self.lock = threading.Lock()

    def write(self, data: Any) -> None:
        """Write ``data`` now, or keep a copy of it while collecting."""
        pending = self.pending
        if pending is None:
            with self.lock:
                self.transport.write(data)
            return
        # The frame writer reuses one buffer for every frame: copy it.
        frame = bytes(data)
        pending.append(frame)
        self.size += len(frame)

    def collect(self) -> None:
        """Start keeping frames instead of writing them."""
        if self.pending is None:
            self.pending, self.size = [], 0

    def flush(self) -> None:
        """Write the frames kept so far with one ``sendall``."""
        pending = self.pending
        if pending:
            self.pending, self.size = [], 0
            self.flushes += 1
            self.write_now(b''.join(pending))

    def write_now(self, data: bytes) -> None:
        """Write whole frames to the socket now, collecting or not."""
        with self.lock:
            self.transport.write(data)

    def stop(self, discard: bool = False) -> None:
        """Stop collecting: write what is kept (or drop it) and write through again."""
        if not discard:
            self.flush()
        self.pending, self.size = None, 0


def sink_frame_writer(connection: Connection, transport: Any) -> Any:
    """A frame writer writing through the connection's :class:`FrameSink`."""
    sink = connection.frame_sink = FrameSink(transport)
    return content_frame_writer(connection, sink.write, frame_writer(connection, sink))


_METHOD_HEAD = Struct('>BHIHH').pack    # frame type, channel, size, class id, method id
_HEADER_HEAD = Struct('>BHIHHQ').pack   # ..., class id, weight, body size
_BODY_HEAD = Struct('>BHI').pack
_FRAME_END = b'\xce'
#: Frame bytes besides the payloads (py-amqp's bound for "fits one frame").
_OVERHEAD = 40


def content_frame_writer(connection: Any, write: Callable[[bytes], None],
                         stock: Callable[..., None]) -> Callable[..., None]:
    """py-amqp's ``frame_writer(...)`` signature; a published message's frames in one join.

    py-amqp packs every frame into a shared buffer under a lock, one
    ``pack_into`` with a format string built per frame.  A method with a
    body that fits one frame (every task message) is built here as one
    ``bytes``: method, content header and body frames, the same bytes.
    Everything else (no content, chunked bodies) goes to ``stock``.
    """
    def write_frame(type_: int, channel: int, method_sig: tuple[int, int],
                    args: bytes | str, content: Any) -> None:
        if content is None or type_ != 1:
            return stock(type_, channel, method_sig, args, content)
        body = content.body
        kind = type(body)
        if kind is str:
            # As py-amqp does: a text body (kombu's JSON) in its content encoding.
            body = body.encode(content.properties.setdefault('content_encoding', 'utf-8'))
        elif kind is not bytes:
            return stock(type_, channel, method_sig, args, content)
        if type(args) is str:
            args = args.encode('utf-8', 'surrogatepass')
        properties = content._serialize_properties()
        frames = content_frames(connection, channel, method_sig, args, properties, body)
        if frames is None:
            return stock(type_, channel, method_sig, args, content)
        write(frames)
        connection.bytes_sent += 1
        return None
    return write_frame


def content_frames(connection: Any, channel: int, method_sig: tuple[int, int], args: bytes,
                   properties: bytes, body: bytes) -> bytes | None:
    """A method's frames with its content (py-amqp's bytes); None if the body needs more frames."""
    size = len(body)
    if len(args) + len(properties) + size + _OVERHEAD > connection.frame_max - 8:
        return None
    class_id = method_sig[0]
    frames = [_METHOD_HEAD(1, channel, len(args) + 4, class_id, method_sig[1]), args,
              _FRAME_END, _HEADER_HEAD(2, channel, len(properties) + 12, class_id, 0, size),
              properties, _FRAME_END]
    if size:
        frames += (_BODY_HEAD(3, channel, size), body, _FRAME_END)
    return b''.join(frames)


class Channel(pyamqp.Channel):
    """py-amqp channel that can batch publishes (with confirms: :class:`ConfirmChannel`)."""

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None,
                        content_encoding: str | None = None,
                        headers: dict[str, Any] | None = None,
                        properties: dict[str, Any] | None = None,
                        _Message: type = PropertiesMessage) -> Any:
        """kombu's message for this channel, built as a :class:`PropertiesMessage`."""
        return super().prepare_message(body, priority, content_type, content_encoding,
                                       headers, properties, _Message=_Message)

    @property
    def supports_batch_publish(self) -> bool:
        """Batches without confirms (with them, :class:`ConfirmChannel` batches)."""
        # A subclass's channel in confirm mode (the consumer's) publishes one by one.
        return not self.connection.confirm_publish

    #: The ``Producer.batch()`` collecting this channel's publishes, if one is open.
    open_batch: PublishBatch | None = None

    def basic_publish(self, msg: Any, exchange: str = '', routing_key: str = '',
                      mandatory: bool = False, immediate: bool = False,
                      timeout: float | None = None, confirm_timeout: float | None = None,
                      argsig: str = 'Bssbb') -> None:
        """py-amqp's ``basic_publish`` (no confirms): the same frames, the arguments encoded once.

        py-amqp encodes the method arguments and makes a promise for every
        message; here the encoded arguments are kept per destination.  With
        publisher confirms (py-amqp's own ``basic_publish_confirm``) or an
        unusual argument signature, py-amqp's method runs.
        """
        connection = self.connection
        if connection is None:
            raise RecoverableConnectionError('basic_publish: connection closed')
        if connection.confirm_publish or argsig != 'Bssbb':
            super().basic_publish(msg, exchange, routing_key, mandatory, immediate,
                                  timeout, confirm_timeout, argsig)
            return
        if connection.client_properties.get('capabilities', {}).get('connection.blocked'):
            try:
                connection.drain_events(timeout=0)   # a notice from the broker?
            except socket.timeout:
                pass
        args = _publish_args(exchange, routing_key, mandatory, immediate)
        try:
            if timeout is None:
                connection.frame_writer(1, self.channel_id, _PUBLISH, args, msg)
            else:
                with connection.transport.having_timeout(timeout):
                    connection.frame_writer(1, self.channel_id, _PUBLISH, args, msg)
        except StopIteration:
            raise RecoverableConnectionError('connection already closed') from None
        except (socket.timeout, TimeoutError):
            # As py-amqp: a write timeout means the socket is dead.
            raise RecoverableConnectionError('basic_publish: timed out') from None

    def create_publish_batch(self, max_size: int) -> PublishBatch:
        """kombu's hook for ``Producer.batch()``: a batch writing to this channel."""
        batch = self.open_batch = PublishBatch(self, max_size)
        return batch


class ConfirmChannel(Channel):
    """The channel of a ``confirm_publish`` connection: batches wait once for their confirms.

    Publishing one by one is py-amqp's ``basic_publish_confirm`` (a wait for
    each message's ack).  The channel counts its publishes since
    ``confirm.select``: RabbitMQ's delivery tag of the last one, which a
    :class:`ConfirmPublishBatch` waits for.
    """

    #: Publishes written since ``confirm.select``: the last one's delivery tag.
    published = 0
    #: Whether ``confirm.select`` was sent since the channel (re)opened.
    confirming = False

    @property
    def supports_batch_publish(self) -> bool:
        """Batches write their messages together and wait once for all the confirms."""
        return True

    def create_publish_batch(self, max_size: int) -> ConfirmPublishBatch:
        """kombu's hook for ``Producer.batch()``: a batch with one confirm wait per flush."""
        # Not an ``open_batch``: every publish goes through the batch's
        # publish(), which counts it for the confirm wait.
        return ConfirmPublishBatch(self, max_size)

    def open(self) -> Any:
        """Open the channel (py-amqp reopens it after a channel error): a new confirm count."""
        if not self.is_open:
            self.published, self.confirming = 0, False
        return super().open()

    def confirm_select(self, nowait: bool = False) -> Any:
        """Enter confirm mode: RabbitMQ numbers the publishes from here, 1, 2, 3..."""
        # A second select changes nothing on the broker: the numbering goes on.
        if not self.confirming:
            self.published, self.confirming = 0, True
        return super().confirm_select(nowait)

    def send_method(self, sig: Any, format: str | None = None, args: Any = None,  # noqa: A002
                    content: Any = None, wait: Any = None, callback: Any = None,
                    returns_tuple: bool = False) -> Any:
        """py-amqp's ``send_method``, counting the publishes (whichever path sends them)."""
        result = super().send_method(sig, format, args, content, wait, callback, returns_tuple)
        if sig == _PUBLISH:
            self.published += 1
        return result

    def publish_unconfirmed(self, message: Any, **kwargs: Any) -> Any:
        """py-amqp's ``basic_publish`` without the confirm wait (a batch waits for all)."""
        return super().basic_publish(message, **kwargs)


class Connection(pyamqp.Connection):
    """py-amqp connection whose frames go through a :class:`FrameSink`."""

    Channel = Channel
    #: The channel class when ``confirm_publish`` is on, if it extends :attr:`Channel`.
    ConfirmChannel = ConfirmChannel
    frame_sink: FrameSink | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop('fast_path', None)   # our transport option, not py-amqp's
        kwargs.setdefault('frame_writer', sink_frame_writer)
        super().__init__(*args, **kwargs)
        # A subclass with a channel class of its own (the consumer's) keeps it.
        if self.confirm_publish and issubclass(self.ConfirmChannel, self.Channel):
            self.Channel = self.ConfirmChannel

    @property
    def collecting(self) -> bool:
        """Whether frames are being kept for a batch."""
        sink = self.frame_sink
        return sink is not None and sink.pending is not None

    def drain_events(self, timeout: float | None = None) -> None:
        """Read events; the per-publish poll (timeout 0) waits for the batch's end."""
        if timeout == 0:
            if self.collecting:
                return
            if self.nothing_to_read():
                # What py-amqp raises after its timed-out read, without the
                # two settimeout calls, the failing recv and its exceptions.
                raise socket.timeout()
        super().drain_events(timeout)

    def nothing_to_read(self) -> bool:
        """True only when the socket, TLS layer and read buffer are all surely empty."""
        transport = self.transport
        sock = getattr(transport, 'sock', None)
        buffered = getattr(transport, '_read_buffer', None)
        if sock is None or buffered is None or len(buffered) or not hasattr(select, 'poll'):
            return False
        pending = getattr(sock, 'pending', None)
        if pending is not None and pending():
            return False
        poller = self._poller_for(sock)
        return not poller.poll(0)

    def _poller_for(self, sock: socket.socket) -> Any:
        poller = self.__dict__.get('_read_poller')
        if poller is None or poller[0] is not sock:
            poller = (sock, select.poll())
            poller[1].register(sock, select.POLLIN | select.POLLPRI)
            self._read_poller = poller
        return poller[1]

    def poll_events(self) -> None:
        """Handle what the broker has sent (e.g. connection.blocked) without waiting."""
        if self.client_properties.get('capabilities', {}).get('connection.blocked', False):
            try:
                super().drain_events(timeout=0)
            except socket.timeout:
                pass

    def blocking_read(self, timeout: float | None = None) -> Any:
        """Send the frames kept so far before waiting for the broker's reply."""
        if self.collecting:
            self.frame_sink.flush()
        return super().blocking_read(timeout)


class PublishBatch:
    """One ``Producer.batch()`` on a py-amqp channel: frames written together."""

    def __init__(self, channel: Channel, max_size: int) -> None:
        self.channel = channel
        self.max_size = max_size
        self.buffered = 0
        self.sink = channel.connection.frame_sink
        self.sink.collect()

    def publish(self, message: Any, **kwargs: Any) -> Any:
        """Publish ``message`` into the batch (written at :meth:`flush`)."""
        result = self.channel.basic_publish(message, **kwargs)
        self.count_kept()
        return result

    def count_kept(self) -> None:
        """Count a message kept; write them out when the batch is full or large."""
        self.buffered += 1
        if self.buffered >= self.max_size:
            self.flush()
        elif self.sink.size >= FLUSH_BYTES:
            # Written between two messages, never in the middle of one: a
            # discarded batch then drops whole messages only.
            self.sink.flush()

    def publish_message(self, message: Any, exchange: str, routing_key: str,
                        mandatory: bool = False, immediate: bool = False) -> None:
        """:meth:`publish` with the destination as arguments (the direct publish's call)."""
        self.publish(message, exchange=exchange, routing_key=routing_key,
                     mandatory=mandatory, immediate=immediate)

    def publish_encoded(self, properties: bytes, body: bytes, exchange: str, routing_key: str,
                        mandatory: bool = False, immediate: bool = False) -> bool:
        """Publish encoded properties and body; False if they need more than one frame each."""
        channel = self.channel
        connection = channel.connection
        if connection is None:
            raise RecoverableConnectionError('basic_publish: connection closed')
        args = _publish_args(exchange, routing_key, mandatory, immediate)
        frames = content_frames(connection, channel.channel_id, _PUBLISH, args,
                                properties, body)
        if frames is None:
            return False
        self.sink.write(frames)
        connection.bytes_sent += 1
        self.count_kept()
        return True

    def message_template(self, message: Any, exchange: str, routing_key: str,
                         mandatory: bool, immediate: bool, open_headers: tuple[str, ...],
                         open_properties: tuple[str, ...]) -> Callable[..., bool] | None:
        """A publisher of messages like ``message`` but for the open values; None if it cannot be.

        The properties are encoded once (:class:`PropertiesTemplate`); each
        message encodes only its open values and its body.
        """
        try:
            template = PropertiesTemplate(message.properties, open_headers, open_properties)
        except UnsupportedValue:
            return None
        encoding = message.properties.get('content_encoding') or 'utf-8'

        def publish(header_values: tuple[Any, ...], property_values: tuple[Any, ...],
                    body: str | bytes) -> bool:
            if type(body) is str:
                body = body.encode(encoding)   # as py-amqp writes a text body
            elif type(body) is not bytes:
                return False
            try:
                encoded = template.render(header_values, property_values)
            except UnsupportedValue:
                return False
            return self.publish_encoded(encoded, body, exchange, routing_key, mandatory,
                                        immediate)
        return publish

    def flush(self) -> None:
        """Write the batch, then read what the broker sent meanwhile (connection.blocked)."""
        self.buffered = 0
        self.sink.flush()
        self.channel.connection.poll_events()

    def discard(self) -> None:
        """Drop the frames not written yet."""
        self.buffered = 0
        self.sink.stop(discard=True)

    def close(self) -> None:
        """Write through again."""
        if self.channel.open_batch is self:
            self.channel.open_batch = None
        self.sink.stop()


class ConfirmPublishBatch(PublishBatch):
    """A batch on a confirm-mode channel: messages written together, then one wait for their acks.

    Each :meth:`flush` (the batch full, or the ``Producer.batch()`` block's
    end) writes the kept messages and waits until the broker has settled
    every publish of the channel so far; a nacked one raises py-amqp's
    :exc:`~amqp.exceptions.MessageNacked` there, once all are settled.  The
    smallest ``confirm_timeout`` (else ``timeout``) given to the publishes
    bounds the wait, as it bounds py-amqp's wait for one message.
    """

    channel: ConfirmChannel

    def __init__(self, channel: ConfirmChannel, max_size: int) -> None:
        if not channel.confirming:
            channel.confirm_select()   # before collecting: it waits for its reply
        super().__init__(channel, max_size)
        self.confirms = ConfirmTracker(channel, channel.published)
        self.timeout: float | None = None
        # The channel's count when the kept frames were last written, and
        # the sink's flushes then: what a discard gives back.
        self.written, self.flushes = channel.published, self.sink.flushes

    def publish(self, message: Any, **kwargs: Any) -> Any:
        """Publish ``message`` into the batch; its confirm is waited for at :meth:`flush`."""
        # py-amqp's choice: confirm_timeout, else the publish timeout.
        timeout = kwargs.get('confirm_timeout') or kwargs.get('timeout')
        if timeout is not None and (self.timeout is None or timeout < self.timeout):
            self.timeout = timeout
        self.note_writes()
        result = self.channel.publish_unconfirmed(message, **kwargs)
        self.count_kept()
        return result

    def note_writes(self) -> None:
        """Note whether the kept frames were written (a flush, or a reply wait between messages)."""
        if self.sink.flushes != self.flushes:
            self.written, self.flushes = self.channel.published, self.sink.flushes

    def flush(self) -> None:
        """Write the kept messages, then wait for the broker's confirms of all of them."""
        super().flush()
        self.note_writes()
        timeout, self.timeout = self.timeout, None
        self.confirms.wait(self.channel.published, timeout)

    def discard(self) -> None:
        """Drop the messages not written yet: the broker never numbers them."""
        self.note_writes()
        self.channel.published = self.written
        super().discard()

    def close(self) -> None:
        """Write through again; stop listening to confirms."""
        self.confirms.close()
        super().close()


class Transport(pyamqp.Transport):
    """kombu's py-amqp transport, with ``Producer.batch()`` support."""

    Connection = Connection
    implements = pyamqp.Transport.implements.extend(batch_publish=True)


class SSLTransport(Transport, pyamqp.SSLTransport):
    """``amqps://``: kombu's TLS py-amqp transport (it turns TLS on), with :class:`Transport`'s."""

"""kombu's Redis transport with a safe, batched consumer path and a reusable publishing client.

Extends :class:`kombu.transport.redis.Transport`, ``Channel``,
``QoS`` (see :mod:`celery.transport.redis_qos`) and ``MultiChannelPoller``,
handed to kombu as ``Connection(transport=Transport)`` for ``redis://`` and
``rediss://`` URLs (:mod:`celery.transport`).  Why each:

* ``Channel``: the stock channel builds a new ``redis.Redis`` client (over
  the same pool) for every command; this one keeps one per pool, and
  publishes with one ``LPUSH`` on a connection of its pool that it keeps
  checked out (:class:`~celery.transport.redis_publish.Publisher`).  Its
  ``basic_publish`` does kombu's message augmentation in place (base64 body,
  delivery tag, delivery info) and overrides kombu's ``_next_delivery_tag``
  (the same ``uuid4`` string, built without a ``UUID`` object).  In an
  event loop it fetches through :class:`~celery.transport.redis_fetch.Fetcher`
  (pop and register as unacked in one script, then wait with a ``BLMOVE``
  that moves nothing) instead of ``BRPOP``, which loses a message when the
  worker dies between the pop and the registration.
* ``PublishBatch`` (kombu's pipelined ``Producer.batch()``): known to its
  channel while open, so the direct publish can add to it; consecutive
  pushes to one list become one ``LPUSH key m1 m2 ...`` (the list ends up
  the same); and :class:`EnvelopeTemplate` encodes a group member's stored
  JSON once, with each next member's ids, reprs, body and delivery tag put
  in.  It keeps kombu's batch accounting (its ``_buffered``, ``_failed``,
  ``_check_usable``) and builds the sample as kombu's ``basic_publish``
  does (``_inplace_augment_message``, ``_next_delivery_tag``).
* ``MultiChannelPoller``: asks such a channel's fetcher, not ``BRPOP``, on
  each loop turn.
* ``Transport``: uses the poller above and, in an event loop, a
  maintenance timer that keeps the held messages' deadlines fresh and
  restores expired ones every :data:`RESTORE_INTERVAL` seconds.

Keys, values and messages are stock kombu's, so Celery 5.7 clients and
workers share the queues, the unacked hash/index and fanout channels.
Channels without an event loop, with ``global_keyprefix``, without
``ack_emulation``, with a ``no_ack`` consumer or no prefetch limit, or on a
server without ``BLMOVE`` (Redis < 6.2) consume the stock way.  Switch the
whole transport off with ``broker_transport_options={'fast_path': False}``
or ``CELERY_STOCK_TRANSPORTS=1``.  Guide: ``docs/userguide/redis-transport.rst``.
"""
from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from os import urandom
from time import monotonic
from typing import Any

from kombu.transport import redis
from redis import ConnectionPool

from celery.transport.redis_fetch import Fetcher
from celery.transport.redis_publish import Publisher
from celery.transport.redis_qos import QoS
from celery.transport.serialization import json_dumps
from celery.utils.log import get_logger

__all__ = ('RESTORE_INTERVAL', 'Channel', 'Poller', 'PublishBatch', 'QoS', 'Transport')

logger = get_logger(__name__)

#: Seconds between two maintenance rounds: restore expired messages, check waits.
RESTORE_INTERVAL = 2.0

#: Fetch at least this often even without a wake-up (a lost reply, a stale wait).
SAFETY_FETCH_INTERVAL = 5.0


#: ``publish(header_values, property_values, body)``: True once published.
MessagePublisher = Callable[[tuple[Any, ...], tuple[Any, ...], 'str | bytes'], bool]

class EnvelopeTemplate:
    """kombu's stored JSON envelope of a message, with a few values left open.

    The sample message is augmented as kombu's ``basic_publish`` does
    (body encoding, delivery info and tag) and dumped with kombu's JSON with
    markers in the open places; :meth:`render` puts each message's values
    (JSON-encoded as ``json.dumps`` would) between the fixed pieces.
    """

    def __init__(self, channel: Channel, message: dict[str, Any], exchange: str,
                 routing_key: str, open_headers: tuple[str, ...],
                 open_properties: tuple[str, ...]) -> None:
        self.channel = channel
        sample = dict(message, headers=dict(message['headers']),
                      properties=dict(message['properties'],
                                      delivery_info=dict(message['properties']['delivery_info'])))
        channel._inplace_augment_message(sample, exchange, routing_key)
        places = [(sample, 'body')]
        places += [(sample['headers'], key) for key in open_headers]
        places += [(sample['properties'], key) for key in open_properties + ('delivery_tag',)]
        markers = [f'\x00open{index}\x00' for index in range(len(places))]
        for (holder, key), marker in zip(places, markers, strict=True):
            if key not in holder:
                raise ValueError(key)
            holder[key] = marker
        text = json_dumps(sample)
        quoted = [encode_basestring_ascii(marker) for marker in markers]
        if any(text.count(each) != 1 for each in quoted):
            raise ValueError(text)   # a marker's text occurs elsewhere too
        #: The open values' indices in the order they appear in the text.
        self.order = sorted(range(len(markers)), key=lambda index: text.index(quoted[index]))
        self.pieces: list[str] = []
        for index in self.order:
            before, text = text.split(quoted[index])
            self.pieces.append(before)
        self.pieces.append(text)
        #: ``(value index, text after it)`` for each open value, in text order.
        self.slots = list(zip(self.order, self.pieces[1:], strict=True))
        self.body_encoding = channel.body_encoding

    def render(self, header_values: tuple[Any, ...], property_values: tuple[Any, ...],
               body: str | bytes) -> str | None:
        """The stored JSON of the message with these values; None for a value it cannot encode."""
        channel = self.channel
        if self.body_encoding == 'base64':
            # kombu's Base64 codec, as the channel's basic_publish applies it.
            raw = body.encode() if isinstance(body, str) else body
            encoded = b2a_base64(raw, newline=False).decode()
        else:
            encoded, _ = channel.encode_body(body, self.body_encoding)
        values = (encoded, *header_values, *property_values, channel.next_delivery_tag())
        out = [self.pieces[0]]
        append = out.append
        for index, piece in self.slots:
            value = values[index]
            kind = type(value)
            if kind is str:
                append(encode_basestring_ascii(value))
            elif value is None:
                append('null')
            elif kind is int:
                append(int.__repr__(value))
            else:
                return None
            append(piece)
        return ''.join(out)


class PublishBatch(redis.PublishBatch):
    """kombu's pipelined Redis publish batch, known to its channel while it is open."""

    def publish_message(self, message: dict[str, Any], exchange: str, routing_key: str,
                        mandatory: bool = False, immediate: bool = False) -> object:
        """Publish a prepared message into the batch, as kombu's producer would."""
        return self.publish(message, exchange=exchange, routing_key=routing_key,
                            mandatory=mandatory, immediate=immediate,
                            timeout=None, confirm_timeout=None)

    def message_template(self, message: dict[str, Any], exchange: str, routing_key: str,
                         mandatory: bool, immediate: bool, open_headers: tuple[str, ...],
                         open_properties: tuple[str, ...]) -> MessagePublisher | None:
        """A publisher of messages like ``message`` but for the open values (see
        :class:`EnvelopeTemplate`); None where kombu's own path must run.
        """
        channel = self.channel
        expires = channel._expires
        if exchange or channel.global_keyprefix or (expires and routing_key in expires):
            return None   # exchange routing, prefixed keys, queue expiry: kombu's path
        try:
            template = EnvelopeTemplate(channel, message, exchange, routing_key,
                                        open_headers, open_properties)
        except ValueError:
            return None
        key = channel.key_for(routing_key, channel.message_priority(message))

        def publish(header_values: tuple[Any, ...], property_values: tuple[Any, ...],
                    body: str | bytes) -> bool:
            payload = template.render(header_values, property_values, body)
            if payload is None:
                return False
            self.publish_payload(key, payload)
            return True
        return publish

    #: ``(key, payloads)``: pushes to one list not yet in the pipeline.
    _run: tuple[str, list[str]] | None = None

    def publish_payload(self, key: str, payload: str) -> None:
        """Push ``payload`` to the list ``key``, with the pushes to the same list before it.

        Consecutive pushes to one list become one ``LPUSH key p1 p2 ...``:
        the list ends up as separate pushes leave it (same order), for one
        command and one reply instead of one each.  Counted as kombu's batch
        counts commands (our subclass keeps its accounting as publish() does).
        """
        self._check_usable()
        run = self._run
        if run is None or run[0] != key:
            self._push_run()
            run = self._run = (key, [])
        run[1].append(payload)
        self._buffered += 1
        if self._buffered >= self.max_size:
            self.flush()

    def _push_run(self) -> None:
        """Put the pending pushes into the pipeline (before any later command)."""
        run, self._run = self._run, None
        if run is None:
            return
        try:
            self.pipeline.lpush(run[0], *run[1])
        except BaseException as exc:
            self._failed = exc
            self._buffered = 0
            self.pipeline.reset()
            raise

    def publish(self, message: Any, **kwargs: Any) -> Any:
        """kombu's publish, after the pending pushes (the commands keep their order)."""
        self._push_run()
        return super().publish(message, **kwargs)

    def flush(self) -> None:
        """Run the pipeline, pending pushes included."""
        self._push_run()
        super().flush()

    def discard(self) -> None:
        """Drop what was not written yet, pending pushes included."""
        self._run = None
        super().discard()

    def close(self) -> None:
        """Release the pipeline; the channel publishes on its own again."""
        if self.channel.open_batch is self:
            self.channel.open_batch = None
        super().close()


class Channel(redis.Channel):
    """Redis channel: one reusable client per pool; atomic fetches in an event loop."""

    QoS = QoS

    _client_pool: Any = None
    _pool_client: Any = None
    _publisher: Publisher | None = None
    #: Whether priority 0 is queued on the queue's own key (kombu's default steps).
    _zero_plain: bool | None = None
    #: Set when this channel fetches through the event loop (see :meth:`fetcher_for`).
    fetcher: Fetcher | None = None
    _fast_checked = False
    _has_blmove = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.no_ack_queues: set[str] = set()
        super().__init__(*args, **kwargs)

    def _create_client(self, asynchronous: bool = False) -> Any:
        """The channel's client for its current pool (a new one when asynchronous)."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        if self._client_pool is not pool:
            self._pool_client = super()._create_client()
            self._client_pool = pool
        return self._pool_client

    #: The ``Producer.batch()`` collecting this channel's publishes, if one is open.
    open_batch: PublishBatch | None = None

    def create_publish_batch(self, max_size: int) -> PublishBatch:
        """kombu's hook for ``Producer.batch()``: its pipelined batch, remembered while open."""
        batch = self.open_batch = PublishBatch(self, max_size)
        return batch

    def basic_publish(self, message: dict[str, Any], exchange: str, routing_key: str,
                      **kwargs: Any) -> Any:
        """Publish ``message`` as kombu does, its base64 body encoding done in place."""
        if self.body_encoding != 'base64':
            return super().basic_publish(message, exchange, routing_key, **kwargs)
        # kombu's _inplace_augment_message with its Base64 codec, in the same
        # order (new keys land where kombu's dict.update puts them).
        body = message['body']
        message['body'] = b2a_base64(body.encode() if isinstance(body, str) else body,
                                     newline=False).decode()
        properties = message['properties']
        properties['body_encoding'] = 'base64'
        properties['delivery_tag'] = self._next_delivery_tag()
        info = properties['delivery_info']
        info['exchange'] = exchange
        info['routing_key'] = routing_key
        if exchange:
            return self.typeof(exchange).deliver(message, exchange, routing_key, **kwargs)
        return self._put(routing_key, message, **kwargs)

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        """Deliver ``message``: one ``LPUSH`` on the channel's publishing connection."""
        if (kwargs.get('_publish_batch') is not None or self.global_keyprefix
                or (self._expires and queue in self._expires)):
            super()._put(queue, message, **kwargs)
            return
        try:
            priority = message['properties']['priority']
        except (KeyError, TypeError):
            priority = None
        if priority.__class__ is int and not priority and self._zero_is_plain():
            key = queue   # kombu's key for priority 0, without its clamping and bisect
        else:
            key = self._q_for_pri(queue, self._get_message_priority(message, reverse=False))
        payload = json_dumps(message)
        pool = self.pool
        publisher = self._publisher
        if publisher is None or not publisher.serves(pool):
            publisher = self._new_publisher(pool)
        if not publisher.lpush(key, payload):
            # Another thread is pushing on this channel, or the held connection
            # was lost (and dropped): once through the client, which reconnects
            # as kombu's push would.
            self._create_client().lpush(key, payload)

    def _zero_is_plain(self) -> bool:
        plain = self._zero_plain
        if plain is None:
            zero = self._get_message_priority({'properties': {'priority': 0}}, reverse=False)
            plain = self._zero_plain = self._q_for_pri('', zero) == ''
        return plain

    def _new_publisher(self, pool: Any) -> Publisher:
        # The old one's connection came from a pool kombu has since
        # replaced (and disconnected), or from the parent process.
        if self._publisher is not None:
            self._publisher.close()
        publisher = self._publisher = Publisher(pool)
        return publisher

    def _next_delivery_tag(self) -> str:
        """A random UUID4 string, as kombu's (``str(uuid4())``), without building a UUID."""
        tag = bytearray(urandom(16))
        tag[6] = (tag[6] & 0x0F) | 0x40   # version 4
        tag[8] = (tag[8] & 0x3F) | 0x80   # RFC 4122 variant
        h = tag.hex()
        return f'{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}'

    # -- hooks for the fetcher and the QoS ---------------------------------

    def client_for_flush(self) -> Any:
        """The synchronous client the fetcher's pipelines go through."""
        return self._create_client()

    def new_pool(self) -> Any:
        """A connection pool of this channel's server, for connections held long."""
        params = self._connparams()
        # One connection per waited key: not bound by the channel's pool size.
        params.pop('max_connections', None)
        return ConnectionPool(**params)

    def next_delivery_tag(self) -> str:
        """A new delivery tag, as kombu gives each published message."""
        tag: str = self._next_delivery_tag()
        return tag

    def key_for(self, queue: str, priority: int) -> str:
        """The Redis list holding ``queue``'s messages of ``priority``."""
        key: str = self._q_for_pri(queue, priority)
        return key

    def message_priority(self, message: dict[str, Any]) -> int:
        """The priority ``message`` is queued at (kombu's rule)."""
        priority: int = self._get_message_priority(message, reverse=False)
        return priority

    def restore_queues(self, exchange: str, routing_key: str) -> list[str]:
        """The queues a restored message goes back to (none when its route is gone)."""
        try:
            return list(self._lookup(exchange, routing_key))
        except Exception:   # as kombu's restore: log and keep the others going
            logger.critical('Cannot route restored message (%r, %r)', exchange,
                            routing_key, exc_info=True)
            return []

    def queue_order(self) -> list[str]:
        """The consumed queues in the order of ``queue_order_strategy`` now."""
        queues: list[str] = self._queue_cycle.consume(len(self.active_queues))
        return queues

    def rotate_queue(self, queue: str) -> None:
        """Move ``queue`` to the end of the cycle (it was just served)."""
        self._queue_cycle.rotate(queue)

    def deliver(self, payload: dict[str, Any], queue: str) -> None:
        """Hand a fetched message to the consumer of ``queue``."""
        self.connection._deliver(payload, queue)

    # -- consuming ----------------------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        """Consume ``queue``; a ``no_ack`` consumer keeps the channel on BRPOP."""
        if no_ack:
            self.no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_qos(self, *args: Any, **kwargs: Any) -> Any:
        """Change the prefetch window (the fetcher looks at the new room)."""
        result = super().basic_qos(*args, **kwargs)
        if self.fetcher is not None:
            if self._can_fetch():
                self.fetcher.dirty = True
            else:
                self._stop_fetching()
        return result

    def _update_queue_cycle(self) -> None:
        super()._update_queue_cycle()
        self.no_ack_queues.intersection_update(self._active_queues)
        if self.fetcher is not None:
            if self._can_fetch():
                self.fetcher.queues_changed()
            else:
                self._stop_fetching()

    def fetcher_for(self, hub: Any) -> Fetcher | None:
        """This channel's fetcher in ``hub``, or None to consume with BRPOP."""
        if self.fetcher is None and hub is not None and not self._in_poll \
                and self._can_fetch() and self._server_has_blmove():
            self.fetcher = self.qos.fetcher = Fetcher(self, hub)
        return self.fetcher

    def _can_fetch(self) -> bool:
        return bool(self.ack_emulation and not self.global_keyprefix
                    and self.qos.prefetch_count and self.active_queues
                    and not self.no_ack_queues.intersection(self.active_queues))

    def _server_has_blmove(self) -> bool:
        if not self._fast_checked:
            self._fast_checked = True
            version = str(self._create_client().info('server').get('redis_version', '0'))
            parts = tuple(int(p) for p in version.split('.')[:2] if p.isdigit())
            self._has_blmove = parts >= (6, 2)
            if not self._has_blmove:
                logger.info('Redis %s has no BLMOVE: consuming with BRPOP', version)
        return self._has_blmove

    def _stop_fetching(self) -> None:
        fetcher, self.fetcher = self.fetcher, None
        if fetcher is not None:
            fetcher.flush(refill=False)
            fetcher.close()
            self.qos.fetcher = None

    def close(self) -> None:
        """Give back the publishing connection, flush and stop fetching, close as kombu does."""
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.close()
        if self.fetcher is not None:
            try:
                self._stop_fetching()
            except self.connection_errors:
                pass   # the messages stay unacked: restored after the timeout
        super().close()


class Poller(redis.MultiChannelPoller):
    """kombu's poller, letting channels with a fetcher fetch instead of BRPOP."""

    hub: Any = None
    _maintenance: Any = None
    _fetched_at = 0.0

    def _register_BRPOP(self, channel: Any) -> None:  # noqa: N802 (kombu's name)
        fetcher = channel.fetcher_for(self.hub) if isinstance(channel, Channel) else None
        if fetcher is None:
            super()._register_BRPOP(channel)
        else:
            fetcher.on_poll_start()

    def maintain(self) -> None:
        """Keep held messages alive, restore expired ones, fetch now and then."""
        now = monotonic()
        safety = now - self._fetched_at >= SAFETY_FETCH_INTERVAL
        if safety:
            self._fetched_at = now
        restored = False
        for channel in list(self._channels):
            if not isinstance(channel, Channel):
                continue
            qos, fetcher = channel.qos, channel.fetcher
            try:
                if isinstance(qos, QoS) and qos.refresh_due(now):
                    qos.refresh_held()
                if fetcher is not None:
                    fetcher.check_waits(channel.health_check_interval or 25)
                    if safety:
                        fetcher.dirty = True
                if not restored and channel.active_queues and isinstance(qos, QoS):
                    restored = True   # one channel sweeps for the whole database
                    qos.restore_expired()
            except channel.connection_errors:
                logger.debug('Redis maintenance: connection error, retrying later',
                             exc_info=True)
                return


class Transport(redis.Transport):
    """kombu's Redis transport, with :class:`Channel` and :class:`Poller`."""

    Channel = Channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The poller every channel of this transport registers with.
        self.owned_cycle = Poller()
        # kombu's transport made its own poller: ours replaces it (and its epoll fd).
        stock: Any = self.cycle
        stock.poller.close()
        self.cycle = self.owned_cycle  # type: ignore[assignment]  # kombu: FairCycle | None

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Register as kombu does, then let channels fetch and maintain in ``loop``."""
        super().register_with_event_loop(connection, loop)
        cycle = self.owned_cycle
        cycle.hub = loop
        if cycle._maintenance is not None:
            cycle._maintenance.cancel()
        timeout = connection.client.transport_options.get(
            'visibility_timeout', Channel.visibility_timeout)
        # Several rounds per visibility timeout: a refresh is never late.
        interval = max(0.25, min(RESTORE_INTERVAL, timeout / 4))
        cycle._maintenance = loop.call_repeatedly(interval, cycle.maintain)

    def close_connection(self, connection: Any) -> None:
        """Close as kombu does, and stop the maintenance timer (a reconnect makes another)."""
        cycle = self.owned_cycle
        if cycle._maintenance is not None:
            cycle._maintenance.cancel()
            cycle._maintenance = None
        super().close_connection(connection)

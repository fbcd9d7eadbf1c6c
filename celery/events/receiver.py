"""Consuming events: :class:`EventReceiver`."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from kombu import Queue
from kombu.connection import maybe_channel
from kombu.mixins import ConsumerMixin

from celery.events.event import get_exchange
from celery.exceptions import ImproperlyConfigured
from celery.utils import uuid
from celery.utils.time import adjust_timestamp

if TYPE_CHECKING:
    from kombu import Connection, Consumer as KombuConsumer
    from kombu.transport.virtual import Channel

    from celery.app.base import Celery

__all__ = ('EventReceiver',)

#: Clients never take part in clock sync, so their events sort just before ours.
CLIENT_CLOCK_SKEW = -1

_TZGETTER = itemgetter('utcoffset', 'timestamp')


class EventReceiver(ConsumerMixin):
    """Capture events from the events exchange.

    Arguments:
        channel: channel (or connection) to consume from.
        handlers: event type (or ``'*'`` for any) -> callback taking the event.
        routing_key: binding key; ``'#'`` receives every event.
    """

    app: Any = None

    def __init__(self, channel: Channel | Connection,
                 handlers: dict[str, Callable[[dict], Any]] | None = None,
                 routing_key: str = '#', node_id: str | None = None, app: Celery | None = None,
                 queue_prefix: str | None = None, accept: set[str] | None = None,
                 queue_ttl: float | None = None, queue_expires: float | None = None,
                 queue_exclusive: bool | None = None,
                 queue_durable: bool | None = None) -> None:
        from celery._state import app_or_default
        self.app = app_or_default(app or self.app)
        conf = self.app.conf
        self.channel = maybe_channel(channel)
        self.handlers = {} if handlers is None else handlers
        self.routing_key = routing_key
        self.node_id = node_id or uuid()
        self.queue_prefix = queue_prefix or conf.event_queue_prefix
        self.exchange = get_exchange(self.connection or self.app.connection_for_write(),
                                     name=conf.event_exchange)
        queue_ttl = conf.event_queue_ttl if queue_ttl is None else queue_ttl
        queue_expires = conf.event_queue_expires if queue_expires is None else queue_expires
        exclusive = conf.event_queue_exclusive if queue_exclusive is None else queue_exclusive
        durable = conf.event_queue_durable if queue_durable is None else queue_durable
        if exclusive and durable:
            raise ImproperlyConfigured(
                'Event queue cannot be both exclusive and durable: set '
                'event_queue_exclusive or event_queue_durable to False.')
        self.queue = Queue(
            f'{self.queue_prefix}.{self.node_id}', exchange=self.exchange,
            routing_key=self.routing_key, auto_delete=not durable, durable=durable,
            exclusive=exclusive, message_ttl=queue_ttl, expires=queue_expires,
        )
        self.clock = self.app.clock
        self.adjust_clock = self.clock.adjust
        self.forward_clock = self.clock.forward
        self.accept = {conf.event_serializer, 'json'} if accept is None else accept

    def process(self, type: str, event: dict[str, Any]) -> None:
        """Call the handler registered for ``type`` (or ``'*'``)."""
        handler = self.handlers.get(type) or self.handlers.get('*')
        if handler:
            handler(event)

    def get_consumers(self, Consumer: Callable[..., KombuConsumer],
                      channel: Channel) -> list[KombuConsumer]:
        """The consumer of our event queue (kombu ``ConsumerMixin`` hook)."""
        return [Consumer(queues=[self.queue], callbacks=[self._receive],
                         no_ack=True, accept=self.accept)]

    def on_consume_ready(self, connection: Connection, channel: Channel,
                         consumers: list[KombuConsumer],
                         wakeup: bool = True, **kwargs: Any) -> None:
        """Ask workers to send heartbeats now, when ``wakeup`` is set."""
        if wakeup:
            self.wakeup_workers(channel=channel)

    def itercapture(self, limit: int | None = None, timeout: float | None = None,
                    wakeup: bool = True) -> Iterator[Any]:
        """Yield once per received message (see :meth:`capture`)."""
        return self.consume(limit=limit, timeout=timeout, wakeup=wakeup)

    def capture(self, limit: int | None = None, timeout: float | None = None,
                wakeup: bool = True) -> None:
        """Receive events until ``limit`` messages or ``timeout`` seconds of silence.

        With ``wakeup`` every worker is asked for a heartbeat first, so the
        cluster shows up at once.
        """
        for _ in self.consume(limit=limit, timeout=timeout, wakeup=wakeup):
            pass

    def wakeup_workers(self, channel: Channel | None = None) -> None:
        """Ask every worker to send a heartbeat now."""
        self.app.control.broadcast('heartbeat', connection=self.connection, channel=channel)

    def event_from_message(self, body: dict[str, Any], localize: bool = True,
                           now: Callable[[], float] = time.time,
                           tzfields: Callable[[dict[str, Any]], tuple[Any, Any]] = _TZGETTER,
                           adjust_timestamp: Callable[..., float] = adjust_timestamp,
                           CLIENT_CLOCK_SKEW: int = CLIENT_CLOCK_SKEW,
                           ) -> tuple[str, dict[str, Any]]:
        """Sync the clock from an event and return ``(type, event)``."""
        type = body['type']
        if type == 'task-sent':
            clock = body['clock'] = (self.clock.value or 1) + CLIENT_CLOCK_SKEW
            self.adjust_clock(clock)
        else:
            try:
                clock = body['clock']
            except KeyError:
                body['clock'] = self.forward_clock()
            else:
                if clock is not None:
                    self.adjust_clock(clock)
        if localize:
            # An event without a UTC offset (or timestamp) keeps the time it was sent with.
            with suppress(KeyError):
                offset, timestamp = tzfields(body)
                body['timestamp'] = adjust_timestamp(timestamp, offset)
        body['local_received'] = now()
        return type, body

    def _receive(self, body: Any, message: Any) -> None:
        if isinstance(body, list):
            process, from_message = self.process, self.event_from_message
            for event in body:
                process(*from_message(event))
        else:
            self.process(*self.event_from_message(body))

    @property
    def connection(self) -> Connection | None:
        """The connection of the receiver's channel."""
        connection: Connection | None = self.channel.connection.client if self.channel else None
        return connection

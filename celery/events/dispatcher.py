"""Sending events: :class:`EventDispatcher`."""
from __future__ import annotations

import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from kombu import Producer
from kombu.utils.json import JSONEncoder

from celery.events.event import Event, get_exchange, group_from
from celery.utils.log import get_logger
from celery.utils.nodenames import anon_nodename
from celery.utils.time import utcoffset

if TYPE_CHECKING:
    from kombu import Connection
    from kombu.transport.virtual import Channel

    from celery.app.base import Celery

__all__ = ('EventDispatcher',)

logger = get_logger(__name__)

#: Compact JSON for batches of buffered events: smaller messages, less work.
_batch_encoder = JSONEncoder(separators=(',', ':'))

#: Event type -> group: computed once per type, not per event.
_groups: dict[str, str] = {}


def _group_of(type: str) -> str:
    try:
        return _groups[type]
    except KeyError:
        group = _groups[type] = group_from(type)
        return group


class EventDispatcher:
    """Publish monitoring events to the events exchange.

    Arguments:
        connection: connection used to publish (taken from the app's pool
            when used as :meth:`app.events.default_dispatcher`).
        hostname: node name put in every event.
        enabled: when false, :meth:`send` does nothing.
        groups: send only events of these groups (``task``, ``worker``...).
        buffer_group: groups whose events are collected and published as one
            message (a list) by :meth:`flush`.
        buffer_limit: flush a group buffer when it holds this many events.
        on_send_buffered: called after an event was buffered (the worker uses
            it to flush once per event loop iteration).
    """

    #: Transports that cannot carry events.
    DISABLED_TRANSPORTS = frozenset({'sql'})

    app: Any = None
    #: Callbacks run when sending is enabled/disabled (each instance gets its own set).
    on_enabled: set[Callable[[], Any]] | None = None
    on_disabled: set[Callable[[], Any]] | None = None

    def __init__(self, connection: Connection | None = None, hostname: str | None = None,
                 enabled: bool = True, channel: Channel | None = None,
                 buffer_while_offline: bool = True, app: Celery | None = None,
                 serializer: str | None = None, groups: Iterable[str] | None = None,
                 delivery_mode: int = 1, buffer_group: Iterable[str] | None = None,
                 buffer_limit: int = 24,
                 on_send_buffered: Callable[[], Any] | None = None) -> None:
        from celery._state import app_or_default
        self.app = app_or_default(app or self.app)
        self.connection = connection
        self.channel = channel
        if connection is None and channel is not None:
            self.connection = channel.connection.client
        self.hostname = hostname or anon_nodename()
        self.buffer_while_offline = buffer_while_offline
        self.buffer_group = frozenset(buffer_group or ())
        self.buffer_limit = buffer_limit
        self.on_send_buffered = on_send_buffered
        self._group_buffer: defaultdict[str, list[dict]] = defaultdict(list)
        # Only ``(event, routing_key)``: keeping the error would keep its
        # traceback, and every frame it references, alive while offline.
        self._outbound_buffer: deque[tuple[Any, str]] = deque()
        self.mutex = threading.Lock()
        self.producer: Producer | None = None
        self._declared_by: Any = None
        self.serializer = serializer or self.app.conf.event_serializer
        self.on_enabled = set()
        self.on_disabled = set()
        self.groups = set(groups or ())
        self.clock = self.app.clock
        self.delivery_mode = delivery_mode
        self.pid = os.getpid()
        self.headers = {'hostname': self.hostname}
        self._utcoffset, self._utcoffset_until = 0, 0.0
        conninfo = self.connection or self.app.connection_for_write()
        self.exchange = get_exchange(conninfo, name=self.app.conf.event_exchange)
        self.enabled = enabled
        if conninfo.transport.driver_type in self.DISABLED_TRANSPORTS:
            self.enabled = False
        if self.enabled:
            self.enable()

    def __enter__(self) -> EventDispatcher:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def publisher(self) -> Producer | None:
        """The producer events are sent with (Celery's older name for :attr:`producer`)."""
        return self.producer

    @publisher.setter
    def publisher(self, producer: Producer | None) -> None:
        self.producer = producer

    def enable(self) -> None:
        """Start sending events."""
        self.producer = Producer(self.channel or self.connection, exchange=self.exchange,
                                 serializer=self.serializer, auto_declare=False)
        self.enabled = True
        for callback in self.on_enabled or ():
            callback()

    def disable(self) -> None:
        """Stop sending events."""
        if self.enabled:
            self.enabled = False
            self.close()
            for callback in self.on_disabled or ():
                callback()

    def publish(self, type: str, fields: dict[str, Any], producer: Producer,
                blind: bool = False, Event: Callable[..., dict] = Event,
                **kwargs: Any) -> None:
        """Publish one event of ``type`` with ``producer`` (ignores groups)."""
        clock = None if blind else self.clock.forward()
        event = Event(type, hostname=self.hostname, utcoffset=utcoffset(),
                      pid=self.pid, clock=clock, **fields)
        with self.mutex:
            self._publish(event, producer, type.replace('-', '.'), **kwargs)

    def _publish(self, event: Any, producer: Any, routing_key: str, retry: bool = False,
                 retry_policy: dict | None = None) -> None:
        exchange = self.exchange
        # Declare once per producer: kombu's declare check costs a copy per call.
        declare = () if producer is self._declared_by else [exchange]
        body, content = event, {'serializer': self.serializer}
        if self.serializer == 'json' and isinstance(event, list):
            body = _batch_encoder.encode(event)
            content = {'content_type': 'application/json', 'content_encoding': 'utf-8'}
        try:
            producer.publish(
                body, routing_key=routing_key, exchange=exchange.name,
                retry=retry, retry_policy=retry_policy, declare=declare,
                headers=self.headers, delivery_mode=self.delivery_mode, **content,
            )
            self._declared_by = producer
        except Exception as exc:  # noqa: BLE001 - kept for resending when online again
            if not self.buffer_while_offline:
                raise
            logger.debug('Buffering event %r until the broker is reachable: %r',
                         routing_key, exc)
            self._outbound_buffer.append((event, routing_key))

    def send(self, type: str, blind: bool = False, utcoffset: Callable[[], int] = utcoffset,
             retry: bool = False, retry_policy: dict | None = None,
             Event: Callable[..., dict] = Event, **fields: Any) -> None:
        """Send an event of ``type`` with ``fields``, if enabled and its group is wanted.

        Arguments:
            blind: don't set the logical clock (the event is not ordered).
        """
        if not self.enabled:
            return
        groups, group = self.groups, _group_of(type)
        if groups and group not in groups:
            return
        if group in self.buffer_group:
            # The hot path of a worker with -E: ``fields`` is ours, so the
            # event is built in place.
            now = time.time()
            if 'timestamp' not in fields:
                fields['timestamp'] = now
            fields['type'] = type
            fields['hostname'] = self.hostname
            fields['pid'] = self.pid
            fields['clock'] = self.clock.forward()
            fields['utcoffset'] = self._current_utcoffset(now, utcoffset)
            buffer = self._group_buffer[group]
            buffer.append(fields)
            if len(buffer) >= self.buffer_limit:
                self.flush()
            elif self.on_send_buffered:
                self.on_send_buffered()
            return
        producer = self.producer
        if producer is None:
            return  # closed by another thread since the check above
        self.publish(type, fields, producer, blind=blind, Event=Event,
                     retry=retry, retry_policy=retry_policy)

    def _current_utcoffset(self, now: float, read_offset: Callable[[], int]) -> int:
        # The offset changes twice a year: read the local time once a second.
        if read_offset is not utcoffset:
            return read_offset()
        if now >= self._utcoffset_until:
            self._utcoffset, self._utcoffset_until = read_offset(), now + 1.0
        return self._utcoffset

    def flush(self, errors: bool = True, groups: bool = True) -> None:
        """Publish events buffered while offline and the group buffers."""
        if self.producer is None:
            # Closed or never enabled: keep everything for after enable().
            return
        if errors and self._outbound_buffer:
            with self.mutex:
                pending = list(self._outbound_buffer)
                self._outbound_buffer.clear()
                for event, routing_key in pending:
                    self._publish(event, self.producer, routing_key)
        if groups:
            with self.mutex:
                for group, events in self._group_buffer.items():
                    if events:
                        batch = events[:]
                        events.clear()
                        self._publish(batch, self.producer, f'{group}.multi')

    def extend_buffer(self, other: EventDispatcher) -> None:
        """Take over the events another dispatcher could not send."""
        self._outbound_buffer.extend(other._outbound_buffer)

    def close(self) -> None:
        """Stop sending and release the producer (the connection stays with its owner)."""
        # The mutex makes close wait for a publish in progress on another thread.
        with self.mutex:
            self.enabled = False
            self.producer = None

    def __repr__(self) -> str:
        return f'<EventDispatcher: {self.hostname} enabled={self.enabled}>'

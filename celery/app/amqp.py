"""The task message on the wire: queues, routing, message building and publishing.

``app.send_task`` routes a call with :attr:`AMQP.router`, builds the message
with :meth:`AMQP.create_task_message` (task protocol 2 by default, 1 when
:setting:`task_protocol` is 1) and publishes it with
:meth:`AMQP.send_task_message`.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.common import Broadcast
from kombu.exceptions import SerializerNotInstalled

from celery import signals
from celery.app import routes as _routes
from celery.app.publish import forks as _forks, publish, undeclared
from celery.app.queues import QUEUE_FORMAT, Queues  # noqa: F401 -- QUEUE_FORMAT lives here in Celery
from celery.exceptions import ImproperlyConfigured
from celery.utils.log import get_logger
from celery.utils.nodenames import anon_nodename
from celery.utils.saferepr import saferepr
from celery.utils.serialization import serializer_not_installed

if TYPE_CHECKING:
    from kombu import (
        Connection as KombuConnection,
        Consumer as KombuConsumer,
        Producer as KombuProducer,
    )
    from kombu.abstract import MaybeChannelBound

    from celery._protocol import AnyTaskBody, TaskBody, TaskBodyV1, TaskHeaders
    from celery.app.base import Celery
    from celery.app.producers import StickyProducerPool
    from celery.app.queues import Queues as QueuesMapping
    from celery.events.dispatcher import EventDispatcher

__all__ = ('AMQP', 'Queues', 'task_message')

logger = get_logger(__name__)

#: Smallest countdown/expires accepted (the AMQP signed 32-bit int range).
INT_MIN = -2147483648

#: Names accepted by :setting:`task_default_delivery_mode`.
DELIVERY_MODE_NAMES = {'transient': 1, 'persistent': 2}

#: Types whose ``repr`` inside a list/tuple/dict equals ``saferepr``.
_PLAIN_REPR_TYPES = frozenset({int, float, bool, type(None), str})

_V = TypeVar('_V')
#: A signature as the message carries it (a :class:`~celery.Signature` is a dict).
_SignatureDict = dict[str, Any]


class task_message(NamedTuple):
    """A task message ready to publish."""

    headers: TaskHeaders
    properties: dict[str, Any]
    body: AnyTaskBody
    sent_event: dict[str, Any] | None


def _is_plain(obj: object) -> bool:
    return type(obj) in _PLAIN_REPR_TYPES


def utf8dict(d: Mapping[str | bytes, _V], encoding: str = 'utf-8') -> dict[str, _V]:
    """Copy of ``d`` whose bytes keys are decoded to text (``encoding``)."""
    return {key.decode(encoding) if isinstance(key, bytes) else key: value
            for key, value in d.items()}


def plain_repr(obj: object, maxsize: int) -> str | None:
    """``repr`` of a short list/tuple/dict of plain values (None for anything else)."""
    # Exact types (subclasses may repr differently), hence no isinstance.
    kind = type(obj)
    if kind is tuple or kind is list:
        plain = all(map(_is_plain, obj))  # type: ignore[call-overload]
    elif kind is dict:
        plain = (all(map(_is_plain, obj.values()))  # type: ignore[attr-defined]
                 and all(map(_is_plain, obj)))  # type: ignore[call-overload]
    else:
        plain = False
    if plain:
        text = repr(obj)
        if len(text) <= maxsize:
            return text
    return None


def fast_saferepr(obj: object, maxsize: int, maxlevels: int = 3) -> str:
    """``saferepr(obj, maxsize, maxlevels)``, skipping the slow path for short plain containers."""
    text = plain_repr(obj, maxsize)
    return saferepr(obj, maxsize, maxlevels) if text is None else text


def normalize_delivery_mode(value: int | str | None) -> int | None:
    """Return an AMQP delivery mode (1 or 2) from an int, digit string or name."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    try:
        return DELIVERY_MODE_NAMES[text]
    except KeyError:
        raise ImproperlyConfigured(
            f'Unknown delivery mode {value!r}: use 1/"transient" or '
            f'2/"persistent" (task_default_delivery_mode).') from None


def _verify_seconds(seconds: float, what: str) -> float:
    if seconds < INT_MIN:
        raise ValueError(f'{what} is out of range: {seconds!r}')
    return seconds


class AMQP:
    """The app's messaging layer: queues, router, task message builders and publisher."""

    Connection: type[KombuConnection] = Connection
    #: Old name of :attr:`Connection`.
    BrokerConnection: type[KombuConnection] = Connection
    Consumer: type[KombuConsumer] = Consumer
    Producer: type[KombuProducer] = Producer

    #: Class used by :meth:`Queues` to hold the queue declarations.
    queues_cls = Queues

    #: Max length of the ``argsrepr`` header.
    argsrepr_maxsize = 1024

    #: Max length of the ``kwargsrepr`` header.
    kwargsrepr_maxsize = 1024

    #: Exchange factory for queues created on demand (default: direct ``Exchange``).
    autoexchange: Callable[[str], Exchange] | None = None

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.task_protocols: dict[int, Callable[..., task_message]] = {
            1: self.as_task_v1, 2: self.as_task_v2}
        self._producer_pool: StickyProducerPool | None = None
        self._rtable: list[object] | None = None
        self._queues: Queues | None = None
        self._origin_pid = -1  # the fork count the origin name was made in
        self._origin_name = ''

    # -- queues and routing ---------------------------------------------------

    def Queues(self, queues: Mapping[str, Any] | Iterable[Queue] | None, create_missing: bool | None = None,
               create_missing_queue_type: str | None = None,
               create_missing_queue_exchange_type: str | None = None,
               autoexchange: Callable[[str], Exchange] | None = None,
               max_priority: int | None = None) -> QueuesMapping:
        """Build a :class:`Queues` mapping (the default queue if ``queues`` is empty)."""
        conf = self.app.conf
        if create_missing_queue_type is None:
            create_missing_queue_type = conf.get('task_create_missing_queue_type')
        if create_missing_queue_exchange_type is None:
            create_missing_queue_exchange_type = conf.get(
                'task_create_missing_queue_exchange_type')
        default_routing_key = conf.task_default_routing_key or conf.task_default_queue
        if create_missing is None:
            create_missing = conf.task_create_missing_queues
        if max_priority is None:
            max_priority = conf.task_queue_max_priority
        if not queues and conf.task_default_queue:
            queues = (self._default_queue_declaration(default_routing_key),)
        built = self.queues_cls(
            queues, self.default_exchange, create_missing,
            create_missing_queue_type, create_missing_queue_exchange_type,
            self.autoexchange if autoexchange is None else autoexchange,
            max_priority, default_routing_key,
        )
        if conf.task_dead_letter_exchange:  # off by default: declarations unchanged
            from celery.worker.dead_letter import dead_letter_exchange_arguments
            arguments = dead_letter_exchange_arguments(self.app)
            if arguments:
                built.use_dead_letter_exchange(arguments)
        return built

    def _default_queue_declaration(self, routing_key: str) -> Queue:
        conf = self.app.conf
        arguments = None
        queue_type = conf.get('task_default_queue_type')
        if queue_type and queue_type != 'classic':
            arguments = {'x-queue-type': queue_type}
        return Queue(conf.task_default_queue, exchange=self.default_exchange,
                     routing_key=routing_key, queue_arguments=arguments)

    @property
    def queues(self) -> QueuesMapping:
        """All queues known to the app (:setting:`task_queues` or the default queue)."""
        if self._queues is None:
            self._queues = self.Queues(self.app.conf.task_queues)
        return self._queues

    @queues.setter
    def queues(self, queues: Mapping[str, Any] | Iterable[Queue] | None) -> None:
        self._queues = self.Queues(queues)
        self.__dict__.pop('send_task_message', None)  # it captured the old queues

    @cached_property
    def default_exchange(self) -> Exchange:
        """The exchange of :setting:`task_default_exchange` / ``_exchange_type``."""
        conf = self.app.conf
        return Exchange(conf.task_default_exchange or conf.task_default_queue,
                        conf.task_default_exchange_type)

    @property
    def default_queue(self) -> Queue:
        """The queue named by :setting:`task_default_queue`."""
        return self.queues[self.app.conf.task_default_queue]

    @property
    def routes(self) -> list[object]:
        """The routers prepared from :setting:`task_routes`."""
        if self._rtable is None:
            return self._flush_routes()
        return self._rtable

    def flush_routes(self) -> None:
        """Re-read :setting:`task_routes` (and rebuild :attr:`router`)."""
        self._flush_routes()

    def _flush_routes(self) -> list[object]:
        self._rtable = routes = _routes.prepare(self.app.conf.task_routes)
        self.__dict__.pop('router', None)
        return routes

    def Router(self, queues: Mapping[str, Queue] | None = None,
               create_missing: bool | None = None) -> _routes.Router:
        """Build a :class:`~celery.app.routes.Router` over the app's routes and queues."""
        if create_missing is None:
            create_missing = self.app.conf.task_create_missing_queues
        return _routes.Router(self.routes, queues or self.queues, create_missing, app=self.app)

    @cached_property
    def router(self) -> _routes.Router:
        """The app's router."""
        return self.Router()

    def TaskConsumer(self, channel: object, queues: Sequence[Queue] | None = None,
                     accept: Sequence[str] | None = None, **kw: Any) -> KombuConsumer:
        """A consumer of task messages from the selected queues."""
        if accept is None:
            accept = self.app.conf.accept_content
        if queues is None:
            queues = list(self.queues.consume_from.values())
        # channel: a kombu channel or connection, passed on as it is.
        return self.Consumer(channel, accept=accept, queues=queues, **kw)

    # -- connections ----------------------------------------------------------

    @property
    def producer_pool(self) -> StickyProducerPool:
        """Pool of producers on the app's write connection (:setting:`broker_pool_limit`)."""
        if self._producer_pool is None:
            # Owned by this app (not kombu's process-global pools): closing the
            # app or forking a child must not touch another app's connections.
            from celery.app.pools import ForkSafeConnectionPool
            from celery.app.producers import StickyProducerPool
            from celery.transport import write_connection
            limit = self.app.conf.broker_pool_limit
            connections = ForkSafeConnectionPool(write_connection(self.app), limit=limit)
            self._producer_pool = StickyProducerPool(connections, limit=connections.limit)
            # Read once here: acquire() runs for every task sent.
            timeout = self.app.conf.broker_pool_acquire_timeout
            self._producer_pool.acquire_timeout = connections.acquire_timeout = timeout
        return self._producer_pool

    publisher_pool = producer_pool

    @cached_property
    def utc(self) -> bool:
        """Whether eta/expires are sent in UTC (:setting:`enable_utc`)."""
        return bool(self.app.conf.enable_utc)

    @cached_property
    def _event_dispatcher(self) -> EventDispatcher:
        # Publishes with the caller's producer, so it needs no connection of its own.
        return self.app.events.Dispatcher(enabled=False)

    # -- message builders -----------------------------------------------------

    @cached_property
    def create_task_message(self) -> Callable[..., task_message]:
        """The builder for :setting:`task_protocol` (:meth:`as_task_v2` by default)."""
        protocol = self.app.conf.task_protocol
        try:
            return self.task_protocols[int(protocol)]
        except (KeyError, ValueError, TypeError):
            raise ImproperlyConfigured(
                f'Unknown task_protocol {protocol!r}: use 1 or 2.') from None

    def _times(self, countdown: float | None, eta: datetime | str | None,
               expires: float | datetime | str | None,
               now: datetime | None, timezone: tzinfo | None,
               ) -> tuple[str | None, str | None, float | None]:
        """Return the eta and expires ISO strings, and the expiration TTL in seconds."""
        if now is None and (countdown or expires is not None):
            now = self.app.now()
        timezone = timezone or self.app.timezone
        # (``now`` is set whenever countdown or expires is: the checks are for mypy.)
        if countdown and now is not None:
            eta = now + timedelta(seconds=_verify_seconds(countdown, 'countdown'))
        elif isinstance(eta, datetime):
            eta = _make_aware(eta, timezone)
        ttl: float | None = None
        expires_at: datetime | str | None = None
        if now is None or expires is None:
            pass
        elif isinstance(expires, str):
            expires_at = expires
            ttl = (_make_aware(datetime.fromisoformat(expires), timezone) - now).total_seconds()
        elif isinstance(expires, datetime):
            expires_at = _make_aware(expires, timezone)
            ttl = (expires_at - now).total_seconds()
        elif isinstance(expires, numbers.Real):
            ttl = _verify_seconds(float(expires), 'expires')
            expires_at = now + timedelta(seconds=ttl)
        if ttl is not None and ttl < 0:
            logger.warning(
                'Task expires %.3fs in the past; sending it with expiration 0 '
                '(RabbitMQ drops it unless a consumer takes it at once).', -ttl)
            ttl = 0
        return _isoformat(eta), _isoformat(expires_at), ttl

    def _reprs(self, args: Sequence[object], kwargs: Mapping[str, object], argsrepr: str | None,
               kwargsrepr: str | None) -> tuple[str, str]:
        if argsrepr is None:
            argsrepr = (plain_repr(args, self.argsrepr_maxsize)
                        or self._deep_repr(args, self.argsrepr_maxsize))
        if kwargsrepr is None:
            kwargsrepr = (plain_repr(kwargs, self.kwargsrepr_maxsize)
                          or self._deep_repr(kwargs, self.kwargsrepr_maxsize))
        return argsrepr, kwargsrepr

    def _deep_repr(self, obj: object, maxsize: int) -> str:
        # Only nested or long values get here, so the setting is read only then.
        return saferepr(obj, maxsize, self.app.conf.task_repr_maxlevels)

    def as_task_v2(self, task_id: str, name: str, args: Sequence[Any] | None = None,
                   kwargs: Mapping[str, Any] | None = None,
                   countdown: float | None = None, eta: datetime | str | None = None,
                   group_id: str | None = None, group_index: int | None = None,
                   expires: float | datetime | str | None = None, retries: int = 0,
                   chord: _SignatureDict | None = None,
                   callbacks: list[_SignatureDict] | None = None,
                   errbacks: list[_SignatureDict] | None = None,
                   reply_to: str | None = None, time_limit: float | None = None,
                   soft_time_limit: float | None = None,
                   create_sent_event: bool = False, root_id: str | None = None,
                   parent_id: str | None = None, shadow: str | None = None,
                   chain: list[_SignatureDict] | None = None, now: datetime | None = None,
                   timezone: tzinfo | None = None, origin: str | None = None,
                   ignore_result: bool = False, argsrepr: str | None = None,
                   kwargsrepr: str | None = None, stamped_headers: list[str] | None = None,
                   replaced_task_nesting: int = 0, **options: Any) -> task_message:
        """Build a task protocol 2 message (headers carry the metadata)."""
        args, kwargs = _checked_arguments(args, kwargs)
        eta, expires, ttl = self._times(countdown, eta, expires, now, timezone)
        argsrepr, kwargsrepr = self._reprs(args, kwargs, argsrepr, kwargsrepr)
        root_id = root_id or task_id
        stamps = options.pop('stamps', None)
        if stamps is None:
            stamps = {header: options[header] for header in stamped_headers or ()
                      if header in options}
        # Task protocol 2 header keys: Celery's message format, kept for compatibility.
        headers: TaskHeaders = {
            'lang': 'py',
            'task': name,
            'id': task_id,
            'shadow': shadow,
            'eta': eta,
            'expires': expires,
            'group': group_id,
            'group_index': group_index,
            'retries': retries,
            'timelimit': [time_limit, soft_time_limit],
            'root_id': root_id,
            'parent_id': parent_id,
            'argsrepr': argsrepr,
            'kwargsrepr': kwargsrepr,
            'origin': origin or self._origin,
            'ignore_result': ignore_result,
            'replaced_task_nesting': replaced_task_nesting,
            'stamped_headers': stamped_headers,
            'stamps': stamps,
        }
        properties: dict[str, Any] = {'correlation_id': task_id, 'reply_to': reply_to or ''}
        if ttl is not None:
            properties['expiration'] = ttl
        body: TaskBody = (args, kwargs, {
            'callbacks': callbacks,
            'errbacks': errbacks,
            'chain': chain,
            'chord': chord,
        })
        sent_event = None
        if create_sent_event:
            sent_event = _sent_event(task_id, name, root_id, parent_id, argsrepr,
                                     kwargsrepr, retries, eta, expires)
        return task_message(headers, properties, body, sent_event)

    def as_task_v1(self, task_id: str, name: str, args: Sequence[Any] | None = None,
                   kwargs: Mapping[str, Any] | None = None,
                   countdown: float | None = None, eta: datetime | str | None = None,
                   group_id: str | None = None, group_index: int | None = None,
                   expires: float | datetime | str | None = None, retries: int = 0,
                   chord: _SignatureDict | None = None,
                   callbacks: list[_SignatureDict] | None = None,
                   errbacks: list[_SignatureDict] | None = None,
                   reply_to: str | None = None, time_limit: float | None = None,
                   soft_time_limit: float | None = None,
                   create_sent_event: bool = False, root_id: str | None = None,
                   parent_id: str | None = None, shadow: str | None = None,
                   now: datetime | None = None, timezone: tzinfo | None = None,
                   **compat_kwargs: Any) -> task_message:
        """Build a legacy task protocol 1 message (the body carries the metadata)."""
        args, kwargs = _checked_arguments(args, kwargs)
        eta, expires, ttl = self._times(countdown, eta, expires, now, timezone)
        properties: dict[str, Any] = {'correlation_id': task_id, 'reply_to': reply_to or ''}
        if ttl is not None:
            properties['expiration'] = ttl
        # Task protocol 1 body keys: Celery's message format, kept for compatibility.
        body: TaskBodyV1 = {
            'task': name,
            'id': task_id,
            'args': args,
            'kwargs': kwargs,
            'group': group_id,
            'group_index': group_index,
            'retries': retries,
            'eta': eta,
            'expires': expires,
            'utc': self.utc,
            'callbacks': callbacks,
            'errbacks': errbacks,
            'timelimit': (time_limit, soft_time_limit),
            'taskset': group_id,
            'chord': chord,
        }
        sent_event = None
        if create_sent_event:
            argsrepr, kwargsrepr = self._reprs(args, kwargs, None, None)
            sent_event = _sent_event(task_id, name, root_id or task_id, parent_id,
                                     argsrepr, kwargsrepr, retries, eta, expires)
        return task_message({}, properties, body, sent_event)

    @property
    def _origin(self) -> str:
        # The pid is part of the name, so recompute it in a forked child
        # (noticed through a counter bumped at fork: cheaper than getpid()).
        forks = _forks[0]
        if self._origin_pid != forks:
            self._origin_pid, self._origin_name = forks, anon_nodename()
        return self._origin_name

    # -- publishing -----------------------------------------------------------

    @cached_property
    def send_task_message(self) -> Callable[..., object]:
        """Publish a :class:`task_message`: ``send_task_message(producer, name, message, **options)``."""
        return self._create_task_sender()

    def _create_task_sender(self) -> Callable[..., object]:
        # Everything read from the configuration is read once, here, and
        # captured by the closure: this function runs for every message.
        conf = self.app.conf
        default_retry = conf.task_publish_retry
        default_policy = retry_policy_of(conf.task_publish_retry_policy)
        default_delivery_mode = normalize_delivery_mode(conf.task_default_delivery_mode)
        default_rkey = conf.task_default_routing_key
        default_serializer = conf.task_serializer
        default_compressor = conf.task_compression
        default_priority = conf.task_default_priority
        default_exchange = self.default_exchange
        queues = self.queues
        default_queue = self.default_queue
        before_publish = signals.before_task_publish
        after_publish = signals.after_task_publish
        amqp = self

        def send_task_message(producer: KombuProducer, name: str, message: task_message,
                              exchange: Exchange | str | None = None,
                              routing_key: str | None = None,
                              queue: Queue | str | None = None,
                              event_dispatcher: EventDispatcher | None = None,
                              retry: bool | None = None,
                              retry_policy: Mapping[str, Any] | None = None,
                              serializer: str | None = None,
                              delivery_mode: int | str | None = None,
                              compression: str | None = None,
                              declare: Sequence[MaybeChannelBound] | None = None,
                              headers: Mapping[str, Any] | None = None,
                              exchange_type: str | None = None, timeout: float | None = None,
                              confirm_timeout: float | None = None,
                              **properties: Any) -> object:
            message_headers, message_properties, body, sent_event = message
            if headers:
                # Extra headers may have any name: the TypedDict lists only the known ones.
                cast('dict[str, Any]', message_headers).update(headers)
            if properties:
                message_properties.update(properties)
            if message_properties.get('priority') is None:
                # None (no setting) is passed on too: kombu would otherwise
                # put priority 0 on every AMQP message.
                message_properties['priority'] = default_priority

            target: Queue | None
            qname: str | None = None
            if queue is None:
                target = default_queue if exchange is None else None
            elif isinstance(queue, str):
                qname, target = queue, queues[queue]
            else:
                target = queue
            if target is not None and qname is None:
                qname = target.name
            queue_exchange = target.exchange if target is not None else None

            if delivery_mode is None:
                delivery_mode = getattr(queue_exchange, 'delivery_mode', None) or default_delivery_mode
            else:
                delivery_mode = normalize_delivery_mode(delivery_mode)
            if exchange_type is None:
                exchange_type = getattr(queue_exchange, 'type', None) or 'direct'

            if (not exchange or not routing_key) and exchange_type == 'direct':
                # Direct routing to one queue goes through the default exchange.
                exchange, routing_key = '', qname
            elif exchange is None and target is not None:
                # (target is set when exchange is not: the default queue at least.)
                exchange = (queue_exchange and queue_exchange.name) or default_exchange
                routing_key = routing_key or target.routing_key or default_rkey

            if declare is None and target is not None and not isinstance(target, Broadcast):
                declare = undeclared(producer, target)

            if retry is None:
                retry = default_retry
            policy = (retry_policy_of(default_policy, retry_policy) if retry_policy
                      else default_policy)

            if before_publish.receivers:
                before_publish.send(
                    sender=name, body=body, exchange=exchange, routing_key=routing_key,
                    declare=declare, headers=message_headers,
                    properties=message_properties, retry_policy=retry_policy)
            publish_args = dict(
                exchange=exchange, routing_key=routing_key,
                serializer=serializer or default_serializer,
                compression=compression or default_compressor,
                retry_policy=policy, delivery_mode=delivery_mode, declare=declare,
                headers=message_headers, timeout=timeout,
                confirm_timeout=confirm_timeout, **message_properties)
            try:
                result = publish(producer, body, retry, publish_args)
            except SerializerNotInstalled as exc:
                raise serializer_not_installed(publish_args['serializer']) from exc
            if after_publish.receivers:
                after_publish.send(sender=name, body=body, headers=message_headers,
                                   exchange=exchange, routing_key=routing_key)
            if sent_event:
                # Under the same publish-retry limits as the task message itself.
                amqp._send_sent_event(producer, sent_event, qname, exchange, routing_key,
                                      event_dispatcher, retry, policy)
            return result

        return send_task_message

    def _send_sent_event(self, producer: KombuProducer, sent_event: dict[str, Any],
                         qname: str | None, exchange: Exchange | str | None,
                         routing_key: str | None, event_dispatcher: EventDispatcher | None,
                         retry: bool, retry_policy: Mapping[str, Any] | None) -> None:
        dispatcher = event_dispatcher or self._event_dispatcher
        if isinstance(exchange, Exchange):
            exchange = exchange.name
        sent_event.update(queue=qname, exchange=exchange, routing_key=routing_key)
        dispatcher.publish('task-sent', sent_event, producer,
                           retry=retry, retry_policy=retry_policy)


def retry_policy_of(*policies: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge publish retry policies (later ones win), ``retry_errors`` as a tuple."""
    policy: dict[str, Any] = {}
    for each in policies:
        policy.update(each or {})
    # kombu catches ``retry_errors`` with ``except``, which takes no list.
    if isinstance(policy.get('retry_errors'), list):
        policy['retry_errors'] = tuple(policy['retry_errors'])
    return policy


def _checked_arguments(args: object, kwargs: object) -> tuple[Sequence[Any], Mapping[str, Any]]:
    args = args or ()
    kwargs = kwargs or {}
    if not isinstance(args, (list, tuple)):
        raise TypeError(f'task args must be a list or tuple, not {type(args).__name__}')
    if not isinstance(kwargs, Mapping):
        raise TypeError(f'task keyword arguments must be a mapping, not {type(kwargs).__name__}')
    return args, kwargs


def _make_aware(value: datetime, timezone: tzinfo) -> datetime:
    if value.tzinfo is not None:
        return value
    localize = getattr(timezone, 'localize', None)
    return localize(value) if localize is not None else value.replace(tzinfo=timezone)


def _isoformat(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _sent_event(task_id: str, name: str, root_id: str | None, parent_id: str | None,
                argsrepr: str, kwargsrepr: str, retries: int, eta: str | None,
                expires: str | None) -> dict[str, Any]:
    # Fields of the ``task-sent`` event: Celery's event format, kept for compatibility.
    return {
        'uuid': task_id,
        'root_id': root_id,
        'parent_id': parent_id,
        'name': name,
        'args': argsrepr,
        'kwargs': kwargsrepr,
        'retries': retries,
        'eta': eta,
        'expires': expires,
    }

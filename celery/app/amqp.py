"""The task message on the wire: queues, routing, message building and publishing.

``app.send_task`` routes a call with :attr:`AMQP.router`, builds the message
with :meth:`AMQP.create_task_message` (task protocol 2 by default, 1 when
:setting:`task_protocol` is 1) and publishes it with
:meth:`AMQP.send_task_message`.  The builders live in
:mod:`celery.app.task_message` (:class:`AMQP`'s base class), the publisher in
:mod:`celery.app.task_sender`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from kombu import Connection, Consumer, Exchange, Producer, Queue

from celery.app import routes as _routes
from celery.app.queues import QUEUE_FORMAT, Queues  # noqa: F401 -- QUEUE_FORMAT lives here in Celery
from celery.app.task_message import (  # noqa: F401 -- callers import these from here
    INT_MIN,
    TaskMessageBuilder,
    fast_saferepr,
    plain_repr,
    task_message,
)
from celery.app.task_sender import (  # noqa: F401 -- callers import these from here
    DELIVERY_MODE_NAMES,
    create_task_sender,
    normalize_delivery_mode,
    retry_policy_of,
)
from celery.utils.log import get_logger
from celery.utils.nodenames import anon_nodename  # noqa: F401 -- Celery's module has it
from celery.utils.saferepr import saferepr  # noqa: F401 -- Celery's module has it

if TYPE_CHECKING:
    from kombu import (
        Connection as KombuConnection,
        Consumer as KombuConsumer,
        Producer as KombuProducer,
    )

    from celery.app.base import Celery
    from celery.app.producers import StickyProducerPool
    from celery.app.queues import Queues as QueuesMapping
    from celery.events.dispatcher import EventDispatcher

__all__ = ('AMQP', 'Queues', 'task_message')

logger = get_logger(__name__)

_V = TypeVar('_V')


def utf8dict(d: Mapping[str | bytes, _V], encoding: str = 'utf-8') -> dict[str, _V]:
    """Copy of ``d`` whose bytes keys are decoded to text (``encoding``)."""
    return {key.decode(encoding) if isinstance(key, bytes) else key: value
            for key, value in d.items()}


class AMQP(TaskMessageBuilder):
    """The app's messaging layer: queues, router, task message builders and publisher."""

    Connection: type[KombuConnection] = Connection
    #: Old name of :attr:`Connection`.
    BrokerConnection: type[KombuConnection] = Connection
    Consumer: type[KombuConsumer] = Consumer
    Producer: type[KombuProducer] = Producer

    #: Class used by :meth:`Queues` to hold the queue declarations.
    queues_cls = Queues

    #: Exchange factory for queues created on demand (default: direct ``Exchange``).
    autoexchange: Callable[[str], Exchange] | None = None

    def __init__(self, app: Celery) -> None:
        super().__init__(app)
        self._producer_pool: StickyProducerPool | None = None
        self._rtable: list[object] | None = None
        self._queues: Queues | None = None

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
    def _event_dispatcher(self) -> EventDispatcher:
        # Publishes with the caller's producer, so it needs no connection of its own.
        return self.app.events.Dispatcher(enabled=False)

    # -- publishing -----------------------------------------------------------

    @cached_property
    def send_task_message(self) -> Callable[..., object]:
        """Publish a :class:`task_message`: ``send_task_message(producer, name, message, **options)``."""
        return create_task_sender(self)

"""Move task messages between queues and brokers, optionally filtering them.

Messages are forwarded byte for byte (body, headers and properties), so
signed or compressed messages survive the trip.  Consumed messages are only
acknowledged when asked to (``ack_messages``) or when :func:`move` moved
them; the rest go back to their queue when the connection closes.
"""
from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeAlias

from celery._state import app_or_default
from celery.utils.log import get_logger
from celery.utils.nodenames import worker_direct
from celery.utils.text import str_to_list

if TYPE_CHECKING:
    from kombu import Connection, Consumer, Producer, Queue
    from kombu.message import Message

    from celery.app.base import Celery

__all__ = (
    'Filterer',
    'State',
    'StopFiltering',
    'filter_status',
    'migrate_task',
    'migrate_tasks',
    'move',
    'move_by_idmap',
    'move_by_taskmap',
    'move_direct',
    'move_direct_by_id',
    'move_direct_by_idmap',
    'move_direct_by_taskmap',
    'move_task_by_id',
    'prepare_queues',
    'republish',
    'start_filter',
    'task_id_eq',
    'task_id_in',
)

logger = get_logger(__name__)

MOVING_PROGRESS_FMT = 'Moving task {state.filtered}/{state.strtotal}: {name}[{id}]'

#: Message properties carried over when republishing (the AMQP basic properties
#: a producer may set); transport bookkeeping such as delivery tags is left behind.
FORWARDED_PROPERTIES = ('correlation_id', 'reply_to', 'priority', 'delivery_mode',
                        'message_id', 'timestamp', 'type', 'user_id', 'app_id')

#: ``predicate(body, message)``: the decoded body (``None`` when undecodable)
#: and the message; the answer is falsy (skip), a Queue, a pair or truthy.
Predicate: TypeAlias = 'Callable[[object, Message], object]'

#: Where :func:`move_by_idmap` and friends send a task: a queue, an
#: ``(exchange, routing_key)`` pair, or a name for the ``transform`` (a
#: worker's hostname for the ``move_direct`` functions).
Destination: TypeAlias = 'Queue | tuple[str, str] | str'

#: The ``queues`` option: ``'a:b,c'``, a list of such items, or a mapping.
QueueMap: TypeAlias = 'str | list[str] | Mapping[str, str] | None'


class StopFiltering(Exception):
    """Raised by a filter callback to end the filtering loop."""


class State:
    """Progress of a migration or move."""

    #: Messages consumed (after the task-name filter).
    count: int = 0
    #: Messages moved by :func:`move`.
    filtered: int = 0
    #: Messages waiting in the source queues when we started (approximate).
    total_apx: int = 0

    @property
    def strtotal(self) -> str:
        """The approximate total as text, ``'?'`` when unknown."""
        return str(self.total_apx) if self.total_apx else '?'

    def __repr__(self) -> str:
        if self.filtered:
            return f'^{self.filtered}'
        return f'{self.count}/{self.strtotal}'


def task_id_of(body: object, message: Message) -> str | None:
    """Return the task id of a message (protocol 2 headers, else the protocol 1 body)."""
    headers = message.headers or {}
    task_id: str | None
    if 'id' in headers:
        task_id = headers['id']
    elif isinstance(body, Mapping) and 'id' in body:
        task_id = body['id']
    else:
        task_id = message.properties.get('correlation_id')
    return task_id


def task_name_of(body: object, message: Message) -> str | None:
    """Return the task name of a message (protocol 2 headers, else the protocol 1 body)."""
    headers = message.headers or {}
    name: str | None = None
    if 'task' in headers:
        name = headers['task']
    elif isinstance(body, Mapping):
        name = body.get('task')
    return name


def republish(producer: Producer, message: Message, exchange: str | None = None,
              routing_key: str | None = None, remove_props: Iterable[str] | None = None) -> None:
    """Publish a copy of ``message`` (raw body, headers, properties) with ``producer``.

    ``exchange``/``routing_key`` default to where the message was first sent.
    """
    info = message.delivery_info
    exchange = info.get('exchange', '') if exchange is None else exchange
    routing_key = info.get('routing_key', '') if routing_key is None else routing_key
    headers = dict(message.headers or {})
    # The body we hold is already decompressed: the producer compresses it again.
    compression = headers.pop('compression', None)
    props = message.properties
    removed = set(remove_props or ())
    forwarded = {key: props[key] for key in FORWARDED_PROPERTIES
                 if key in props and props[key] is not None and key not in removed}
    expiration = props.get('expiration')
    producer.publish(
        _raw_body(message.body), exchange=exchange, routing_key=routing_key,
        compression=compression, headers=headers, content_type=message.content_type,
        content_encoding=message.content_encoding,
        # On the wire it's milliseconds; the producer takes seconds.
        expiration=float(expiration) / 1000 if expiration is not None else None,
        **forwarded)


def _raw_body(body: str | bytes | bytearray | memoryview) -> bytes:
    return body.encode('utf-8') if isinstance(body, str) else bytes(body)


def migrate_task(producer: Producer, body_: object, message: Message,
                 queues: Mapping[str, str] | None = None) -> None:
    """Republish one message, renaming its exchange/routing key through ``queues``."""
    info = message.delivery_info
    queues = queues or {}
    republish(producer, message,
              exchange=queues.get(info.get('exchange')),
              routing_key=queues.get(info.get('routing_key')))


def prepare_queues(queues: QueueMap) -> dict[str, str]:
    """Parse ``'a:b,c'`` (or a list of such items) into ``{'a': 'b', 'c': 'c'}``."""
    if queues is None:
        return {}
    if isinstance(queues, Mapping):
        return dict(queues)
    mapping = {}
    for item in str_to_list(queues):
        source, _, dest = item.partition(':')
        mapping[source] = dest or source
    return mapping


def migrate_tasks(source: Connection, dest: Connection,
                  migrate: Callable[..., object] = migrate_task,
                  app: Celery | None = None, queues: QueueMap = None, **kwargs: Any) -> State:
    """Move task messages from the ``source`` connection to the ``dest`` connection.

    ``queues`` maps source queue names to destination names (``'a:b,c'`` or
    a dict); other keyword arguments go to :func:`start_filter`.
    """
    app = app_or_default(app)
    names = prepare_queues(queues)
    producer = app.amqp.Producer(dest, auto_declare=False)
    migrate = partial(migrate, producer, queues=names)

    def on_declare_queue(queue: Queue) -> None:
        renamed = queue(producer.channel)
        new_name = names.get(queue.name, queue.name)
        renamed.name = new_name
        if renamed.routing_key == queue.name:
            renamed.routing_key = new_name
        if renamed.exchange.name == queue.name:
            renamed.exchange.name = new_name
        renamed.declare()

    return start_filter(app, source, migrate, queues=names,
                        on_declare_queue=on_declare_queue, **kwargs)


def _maybe_queue(app: Celery, queue: str | Queue) -> Queue:
    return app.amqp.queues[queue] if isinstance(queue, str) else queue


def expand_dest(ret: object, exchange: str | None,
                routing_key: str | None) -> tuple[str | None, str | None]:
    """A predicate's ``(exchange, routing_key)`` answer, else the defaults."""
    # Only a real pair: a two-letter queue name is a truthy answer, not a pair.
    if isinstance(ret, (tuple, list)) and len(ret) == 2:
        return ret[0], ret[1]
    return exchange, routing_key


def move(predicate: Predicate, connection: Connection | None = None,
         exchange: str | None = None, routing_key: str | None = None,
         source: Iterable[str | Queue] | None = None, app: Celery | None = None,
         callback: Callable[[State, object, Message], object] | None = None,
         limit: int | None = None, transform: Callable[[Any], object] | None = None,
         **kwargs: Any) -> State:
    """Move the messages ``predicate(body, message)`` picks to another queue.

    The predicate returns a falsy value to leave a message where it is, a
    :class:`kombu.Queue` or an ``(exchange, routing_key)`` pair to send it
    there, or any other truthy value to send it to ``exchange``/``routing_key``.
    ``transform`` maps the predicate's answer first (e.g. :func:`worker_direct`).
    """
    from kombu import Queue
    from kombu.common import maybe_declare

    app = app_or_default(app)
    queues = [_maybe_queue(app, queue) for queue in source or ()] or None
    state = kwargs.pop('state', None) or State()
    with app.connection_or_acquire(connection, pool=False) as conn:
        producer = app.amqp.Producer(conn)

        def on_task(body: object, message: Message) -> None:
            ret: object = predicate(body, message)
            if not ret:
                return
            if transform:
                ret = transform(ret)
            ex: str | None
            rk: str | None
            if isinstance(ret, Queue):
                maybe_declare(ret, conn.default_channel)
                ex, rk = ret.exchange.name, ret.routing_key
            else:
                ex, rk = expand_dest(ret, exchange, routing_key)
            republish(producer, message, exchange=ex, routing_key=rk)
            message.ack()
            state.filtered += 1
            if callback:
                callback(state, body, message)
            if limit and state.filtered >= limit:
                raise StopFiltering()

        return start_filter(app, conn, on_task, consume_from=queues, state=state, **kwargs)


def task_id_eq(task_id: str, body: object, message: Message) -> bool:
    """Whether the message is the task ``task_id``."""
    return task_id_of(body, message) == task_id


def task_id_in(ids: Container[str], body: object, message: Message) -> bool:
    """Whether the message's task id is in ``ids``."""
    return task_id_of(body, message) in ids


def _task_names(tasks: str | Iterable[str] | None) -> set[str]:
    return set(str_to_list(tasks)) if isinstance(tasks, str) else set(tasks or ())


def filter_callback(callback: Predicate, tasks: str | Iterable[str] | None) -> Predicate:
    """Wrap ``callback(body, message)`` so it only sees messages of the named ``tasks``.

    With no ``tasks`` every message passes.
    """
    names = _task_names(tasks)

    def filtered(body: object, message: Message) -> object:
        if names and task_name_of(body, message) not in names:
            return None
        return callback(body, message)
    return filtered


class Filterer:
    """Consumes task messages and hands each one to a filter until told to stop."""

    def __init__(self, app: Celery, conn: Connection, filter: Predicate,
                 limit: int | None = None,
                 timeout: float | None = 1.0, ack_messages: bool = False,
                 tasks: str | Iterable[str] | None = None, queues: QueueMap = None,
                 callback: Callable[[State, object, Message], object] | None = None,
                 forever: bool = False, on_declare_queue: Callable[[Queue], object] | None = None,
                 consume_from: Iterable[str | Queue] | None = None, state: State | None = None,
                 accept: Iterable[str] | None = None, **kwargs: Any) -> None:
        self.app = app
        self.conn = conn
        self.filter = filter
        self.limit = limit
        self.timeout = timeout
        self.ack_messages = ack_messages
        self.tasks = _task_names(tasks)
        self.queues = prepare_queues(queues)
        self.callback = callback
        self.forever = forever
        self.on_declare_queue = on_declare_queue
        self.consume_from = [_maybe_queue(app, queue)
                             for queue in consume_from or list(self.queues)]
        self.state = state or State()
        self.accept = accept

    def start(self) -> State:
        """Consume until ``limit`` messages, ``timeout`` idle seconds or a :exc:`StopFiltering`."""
        from kombu.common import eventloop
        with self.prepare_consumer(self.create_consumer()):
            try:
                for _ in eventloop(self.conn, timeout=self.timeout,
                                   ignore_timeouts=self.forever):
                    pass
            except (TimeoutError, StopFiltering):
                pass
        return self.state

    def create_consumer(self) -> Consumer:
        """Return the task consumer on the source connection."""
        consumer: Consumer = self.app.amqp.TaskConsumer(self.conn, queues=self.consume_from or None,
                                          accept=self.accept)
        return consumer

    def prepare_consumer(self, consumer: Consumer) -> Consumer:
        """Route the consumer's messages to :meth:`on_message` and declare its queues."""
        consumer.on_message = self.on_message
        self.declare_queues(consumer)
        return consumer

    def on_message(self, message: Message) -> None:
        """Filter, acknowledge and count one message."""
        body = self.decode(message)
        if self.tasks and task_name_of(body, message) not in self.tasks:
            return
        self.filter(body, message)
        if self.ack_messages:
            self.ack_message(body, message)
        self.update_state(body, message)

    def ack_message(self, body: object, message: Message) -> None:
        """Acknowledge a filtered message (when ``ack_messages`` is set), once."""
        if not message.acknowledged:
            message.ack()

    def update_state(self, body: object, message: Message) -> None:
        """Count a filtered message, report it to ``callback`` and stop at ``limit``."""
        self.state.count += 1
        if self.callback is not None:
            self.callback(self.state, body, message)
        if self.limit and self.state.count >= self.limit:
            raise StopFiltering()

    @staticmethod
    def decode(message: Message) -> object:
        """Return the decoded body, or None when it can't be decoded here."""
        try:
            return message.decode()
        except Exception as exc:  # noqa: BLE001 - the raw message can still be moved
            logger.warning('Cannot decode message %r (content type %s): %r; it is moved '
                           'unchanged but filters see body=None.',
                           (message.headers or {}).get('id'), message.content_type, exc)
            return None

    def declare_queues(self, consumer: Consumer) -> None:
        """Declare the consumed queues at the destination and estimate the total."""
        for queue in consumer.queues or ():
            if self.queues and queue.name not in self.queues:
                continue
            if self.on_declare_queue is not None:
                self.on_declare_queue(queue)
            try:
                _, message_count, _ = queue(consumer.channel).queue_declare(passive=True)
            except self.conn.channel_errors:
                continue
            self.state.total_apx += message_count or 0


def start_filter(app: Celery, conn: Connection, filter: Predicate, limit: int | None = None,
                 timeout: float | None = 1.0, ack_messages: bool = False,
                 tasks: str | Iterable[str] | None = None, queues: QueueMap = None,
                 callback: Callable[[State, object, Message], object] | None = None,
                 forever: bool = False, on_declare_queue: Callable[[Queue], object] | None = None,
                 consume_from: Iterable[str | Queue] | None = None, state: State | None = None,
                 accept: Iterable[str] | None = None, **kwargs: Any) -> State:
    """Run ``filter(body, message)`` over task messages on ``conn``; return the :class:`State`."""
    return Filterer(
        app, conn, filter, limit=limit, timeout=timeout, ack_messages=ack_messages,
        tasks=tasks, queues=queues, callback=callback, forever=forever,
        on_declare_queue=on_declare_queue, consume_from=consume_from, state=state,
        accept=accept, **kwargs).start()


def move_by_idmap(map: Mapping[str, Destination], **kwargs: Any) -> State:
    """Move tasks by id: ``{task_id: destination_queue}``; stops once all were found."""
    def task_id_in_map(body: object, message: Message) -> Destination | None:
        task_id = task_id_of(body, message)
        return None if task_id is None else map.get(task_id)
    return move(task_id_in_map, limit=len(map), **kwargs)


def move_task_by_id(task_id: str, dest: Destination, **kwargs: Any) -> State:
    """Move the task ``task_id`` to ``dest`` (a :class:`kombu.Queue`)."""
    return move_by_idmap({task_id: dest}, **kwargs)


def move_by_taskmap(map: Mapping[str, Destination], **kwargs: Any) -> State:
    """Move tasks by name: ``{task_name: destination_queue}``."""
    def task_name_in_map(body: object, message: Message) -> Destination | None:
        name = task_name_of(body, message)
        return None if name is None else map.get(name)
    return move(task_name_in_map, **kwargs)


def filter_status(state: State, body: object, message: Message, **kwargs: Any) -> None:
    """A ``callback`` printing one line per moved task."""
    print(MOVING_PROGRESS_FMT.format(state=state, name=task_name_of(body, message),
                                     id=task_id_of(body, message), **kwargs))


def move_direct(predicate: Predicate, **kwargs: Any) -> State:
    """Like :func:`move`, the predicate naming the worker (hostname) to send to."""
    return move(predicate, transform=worker_direct, **kwargs)


def move_direct_by_id(task_id: str, dest: str, **kwargs: Any) -> State:
    """Move the task ``task_id`` to the worker named ``dest``."""
    return move_task_by_id(task_id, dest, transform=worker_direct, **kwargs)


def move_direct_by_idmap(map: Mapping[str, str], **kwargs: Any) -> State:
    """Move tasks by id to workers: ``{task_id: hostname}``."""
    return move_by_idmap(map, transform=worker_direct, **kwargs)


def move_direct_by_taskmap(map: Mapping[str, str], **kwargs: Any) -> State:
    """Move tasks by name to workers: ``{task_name: hostname}``."""
    return move_by_taskmap(map, transform=worker_direct, **kwargs)

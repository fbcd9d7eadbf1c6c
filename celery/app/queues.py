"""Queue declarations: the :class:`Queues` mapping of name to :class:`kombu.Queue`."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from weakref import WeakValueDictionary

from kombu import Exchange, Queue

__all__ = ('QUEUE_FORMAT', 'Queues')

#: One banner line per consumed queue.
QUEUE_FORMAT = '.> {0.name:<16} exchange={0.exchange.name}({0.exchange.type}) key={0.routing_key}'


class Queues(dict[str, Queue]):
    """Queue name → :class:`kombu.Queue`, creating missing queues on lookup if enabled."""

    #: Queues selected for consuming (None means all of them).
    _consume_from: dict[str, Queue] | None = None
    #: Arguments routing rejected messages to the dead-letter queue
    #: (:setting:`task_dead_letter_exchange`; None: declarations unchanged).
    dead_letter_arguments: dict[str, str] | None = None

    def __init__(self, queues: Mapping[str, Any] | Iterable[Queue] | None = None,
                 default_exchange: Exchange | None = None,
                 create_missing: bool = True,
                 create_missing_queue_type: str | None = None,
                 create_missing_queue_exchange_type: str | None = None,
                 autoexchange: Callable[[str], Exchange] | None = None,
                 max_priority: int | None = None,
                 default_routing_key: str | None = None) -> None:
        super().__init__()
        self.aliases: WeakValueDictionary[str, Queue] = WeakValueDictionary()
        self.default_exchange = default_exchange
        self.default_routing_key = default_routing_key
        self.create_missing = create_missing
        self.autoexchange = Exchange if autoexchange is None else autoexchange
        self.max_priority = max_priority
        self.create_missing_queue_type = create_missing_queue_type
        self.create_missing_queue_exchange_type = create_missing_queue_exchange_type
        if queues is not None and not isinstance(queues, Mapping):
            queues = {queue.name: queue for queue in queues}
        for name, queue in (queues or {}).items():
            if isinstance(queue, Queue):
                self.add(queue)
            else:
                self.add_compat(name, **queue)

    def __getitem__(self, name: str) -> Queue:
        # Every publish looks its queue up here; most apps have no aliases,
        # and a failed WeakValueDictionary lookup raises (slow) each time.
        aliases = self.aliases
        if aliases:
            queue = aliases.get(name)
            if queue is not None:
                return queue
        return super().__getitem__(name)

    def __setitem__(self, name: str, queue: Queue) -> None:
        if self.default_exchange and not queue.exchange:
            queue.exchange = self.default_exchange
        super().__setitem__(name, queue)
        alias = _declared(queue, 'alias')
        if alias:
            self.aliases[alias] = queue

    def __missing__(self, name: str) -> Queue:
        if self.create_missing:
            return self.add(self.new_missing(name))
        raise KeyError(name)

    def add(self, queue: Queue | str, **kwargs: Any) -> Queue:
        """Add a queue (a :class:`kombu.Queue`, or a name plus declaration options)."""
        if not isinstance(queue, Queue):
            return self.add_compat(queue, **kwargs)
        return self._add(queue)

    def add_compat(self, name: str, **options: Any) -> Queue:
        """Add a queue from the old dict form (``binding_key`` means ``routing_key``)."""
        options.setdefault('routing_key', options.get('binding_key'))
        if options['routing_key'] is None:
            options['routing_key'] = name
        return self._add(Queue.from_dict(name, **options))

    def _add(self, queue: Queue) -> Queue:
        if queue.exchange is None or queue.exchange.name == '':
            _set_declared(queue, 'exchange', self.default_exchange)  # (None when there is none)
        if not queue.routing_key:
            _set_declared(queue, 'routing_key', self.default_routing_key)
        if self.max_priority is not None:
            self._set_max_priority(queue)
        if self.dead_letter_arguments:
            self._set_dead_letter_arguments(queue)
        self[queue.name] = queue
        return queue

    def _set_max_priority(self, queue: Queue) -> None:
        arguments = _queue_arguments(queue)
        # Quorum queues refuse x-max-priority: RabbitMQ would reject the declare.
        if arguments.get('x-queue-type') != 'quorum':
            arguments.setdefault('x-max-priority', self.max_priority)

    def use_dead_letter_exchange(self, arguments: dict[str, str]) -> None:
        """Declare every queue (but the dead-letter queue) with ``arguments``."""
        self.dead_letter_arguments = arguments
        for queue in self.values():
            self._set_dead_letter_arguments(queue)

    def _set_dead_letter_arguments(self, queue: Queue) -> None:
        arguments = self.dead_letter_arguments
        if not arguments or queue.name == arguments['x-dead-letter-routing-key']:
            return  # the dead-letter queue itself keeps its messages
        declared = _queue_arguments(queue)
        for key, value in arguments.items():
            declared.setdefault(key, value)

    def new_missing(self, name: str) -> Queue:
        """Create the declaration for a queue that was named but not configured."""
        arguments = None
        if self.create_missing_queue_type and self.create_missing_queue_type != 'classic':
            arguments = {'x-queue-type': self.create_missing_queue_type}
        if self.create_missing_queue_exchange_type:
            exchange = Exchange(name, self.create_missing_queue_exchange_type)
        else:
            exchange = self.autoexchange(name)
        return Queue(name, exchange, name, queue_arguments=arguments)

    def format(self, indent: int = 0, indent_first: bool = True) -> str:
        """Describe the consumed queues, one line each (the worker banner)."""
        active = self.consume_from
        if not active:
            return ''
        lines = [QUEUE_FORMAT.format(queue) for _, queue in sorted(active.items())]
        pad = ' ' * indent
        if indent_first:
            return '\n'.join(pad + line for line in lines)
        return '\n'.join([lines[0]] + [pad + line for line in lines[1:]])

    def select_add(self, queue: Queue | str, **kwargs: Any) -> Queue:
        """Add a queue and, if a selection is active, consume from it too."""
        added = self.add(queue, **kwargs)
        if self._consume_from is not None:
            self._consume_from[added.name] = added
        return added

    def select(self, include: str | Iterable[str] | None) -> None:
        """Consume only from the queues named in ``include``."""
        if include:
            self._consume_from = {name: self[name] for name in _as_name_list(include)}

    def deselect(self, exclude: str | Iterable[str] | None) -> None:
        """Stop consuming from the queues named in ``exclude``."""
        if not exclude:
            return
        exclude = _as_name_list(exclude)
        if self._consume_from is None:
            self.select([name for name in self if name not in exclude])
            return
        for name in exclude:
            self._consume_from.pop(name, None)

    @property
    def consume_from(self) -> Mapping[str, Queue]:
        """The queues to consume from: the selection, or all queues."""
        if self._consume_from is not None:
            return self._consume_from
        return self


def _as_name_list(names: str | Iterable[str]) -> list[str]:
    if isinstance(names, str):
        return [name for name in (part.strip() for part in names.split(',')) if name]
    return list(names)


# kombu sets most of a Queue's declaration fields from its ``attrs`` table,
# out of a checker's sight, and the others may be None where it types them
# as set: these read and write them by name.
def _declared(queue: Queue, field: str) -> Any:
    return getattr(queue, field, None)


def _set_declared(queue: Queue, field: str, value: object) -> None:
    setattr(queue, field, value)


def _queue_arguments(queue: Queue) -> dict[str, Any]:
    """The queue's ``queue_arguments``, made an empty dict first when unset."""
    arguments: dict[str, Any] | None = _declared(queue, 'queue_arguments')
    if arguments is None:
        arguments = {}
        _set_declared(queue, 'queue_arguments', arguments)
    return arguments

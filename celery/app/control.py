"""``app.control``: send remote control commands to workers and collect replies."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from celery.app.lazy_attribute import imported_attribute
from celery.exceptions import DuplicateNodenameWarning
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from typing import TypeAlias

    from kombu import Connection
    from kombu.pidbox import Mailbox as KombuMailbox

    from celery.app.base import Celery

    #: Who a command is for: one node name, several, or every node (``None``).
    Destination: TypeAlias = 'str | Sequence[str] | None'
    #: One reply off the wire: ``{node: payload}`` (payloads are decoded JSON).
    Reply: TypeAlias = 'dict[str, Any]'
    #: What an inspect method returns: ``{node: payload}``; the payload alone
    #: when ``destination`` named a single node; ``None`` when nobody replied.
    InspectReply: TypeAlias = 'dict[str, _T] | _T | None'
    #: Called with each reply as it arrives.
    ReplyCallback: TypeAlias = 'Callable[[Reply], object]'

_T = TypeVar('_T')

__all__ = ('Inspect', 'Control', 'flatten_reply')

logger = get_logger(__name__)

TERM_SIGNAME = 'SIGTERM'

W_DUPNODE = """\
Received multiple replies from node {0}: {1}.
Please make sure you give each node a unique nodename using
the celery worker `-n` option.\
"""


def flatten_reply(reply: Iterable[Reply]) -> Reply:
    """Merge the ``[{node: reply}, ...]`` list into ``{node: reply}``."""
    nodes: Reply = {}
    for item in reply:
        duplicates = set(item) & set(nodes)
        if duplicates:
            warnings.warn(DuplicateNodenameWarning(
                W_DUPNODE.format(', '.join(sorted(duplicates)), item)), stacklevel=2)
        nodes.update(item)
    return nodes


def _record_revokes(app: Celery, task_ids: object) -> None:
    # Durable revokes (worker_revokes_backend): workers down now skip them later.
    if app.conf.worker_revokes_backend:
        from celery.worker.revoke_store import record
        record(app, task_ids)


def _as_destination(destination: Destination) -> list[str] | None:
    if destination is None:
        return None
    if isinstance(destination, str):
        return [destination]
    return list(destination)


class Inspect:
    """Ask workers about their state: ``app.control.inspect().active()``."""

    app: Celery | None = None

    def __init__(self, destination: Destination = None, timeout: float = 1.0,
                 callback: ReplyCallback | None = None,
                 connection: Connection | None = None, app: Celery | None = None,
                 limit: int | None = None, pattern: str | None = None,
                 matcher: str | None = None) -> None:
        self.app = app or self.app
        # Who is asked: these select the workers that reply.
        self.destination, self.pattern, self.matcher = destination, pattern, matcher
        # How the replies are collected.
        self.timeout, self.limit, self.callback = timeout, limit, callback
        self.connection = connection

    def _prepare(self, reply: list[Reply] | None) -> InspectReply[Any]:
        if not reply:
            return None
        by_node = flatten_reply(reply)
        if isinstance(self.destination, str) and self.destination:
            # Asked a single worker by name: answer with its reply alone.
            return by_node.get(self.destination)
        return by_node

    def _request(self, command: str, **kwargs: object) -> InspectReply[Any]:
        assert self.app is not None, 'Inspect needs an app: use app.control.inspect()'
        replies = self.app.control.broadcast(
            command, arguments=kwargs, reply=True, destination=self.destination,
            pattern=self.pattern, matcher=self.matcher, timeout=self.timeout,
            limit=self.limit, callback=self.callback, connection=self.connection)
        return self._prepare(replies)

    def report(self) -> InspectReply[dict[str, str]]:
        """Bug report text of each worker."""
        return self._request('report')

    def clock(self) -> InspectReply[dict[str, int]]:
        """Logical clock of each worker."""
        return self._request('clock')

    def active(self, safe: bool | None = None) -> InspectReply[list[dict[str, Any]]]:
        """Tasks being executed."""
        return self._request('active', safe=safe)

    def scheduled(self, safe: bool | None = None) -> InspectReply[list[dict[str, Any]]]:
        """Tasks with an ETA/countdown held by the workers."""
        return self._request('scheduled')

    def reserved(self, safe: bool | None = None) -> InspectReply[list[dict[str, Any]]]:
        """Tasks received and waiting to run."""
        return self._request('reserved')

    def stats(self) -> InspectReply[dict[str, Any]]:
        """Statistics of each worker."""
        return self._request('stats')

    def revoked(self) -> InspectReply[list[str]]:
        """Revoked task ids."""
        return self._request('revoked')

    def registered(self, *taskinfoitems: str) -> InspectReply[list[str]]:
        """Registered task names (with the given attributes)."""
        return self._request('registered', taskinfoitems=taskinfoitems)
    registered_tasks = registered

    def ping(self, destination: Destination = None) -> InspectReply[dict[str, str]]:
        """Ping the workers."""
        return self._request('ping')

    def active_queues(self) -> InspectReply[list[dict[str, Any]]]:
        """Queues each worker consumes from."""
        return self._request('active_queues')

    def query_task(self, *ids: str | Sequence[str]
                   ) -> InspectReply[dict[str, list[Any]]]:
        """State and request info of the given task ids."""
        if len(ids) == 1 and isinstance(ids[0], (list, tuple)):
            ids = tuple(ids[0])
        return self._request('query_task', ids=ids)

    def conf(self, with_defaults: bool = False) -> InspectReply[dict[str, Any]]:
        """Configuration of each worker."""
        return self._request('conf', with_defaults=with_defaults)

    def hello(self, from_node: str, revoked: Sequence[str] | None = None
              ) -> InspectReply[dict[str, Any]]:
        """Mingle: exchange revoked ids and clocks."""
        return self._request('hello', from_node=from_node, revoked=revoked)

    def memsample(self) -> InspectReply[str | None]:
        """Current RSS of each worker."""
        return self._request('memsample')

    def memdump(self, samples: int = 10) -> InspectReply[str]:
        """Recent memory samples of each worker."""
        return self._request('memdump', samples=samples)

    def objgraph(self, type: str = 'Request', n: int = 200,
                 max_depth: int = 10) -> InspectReply[dict[str, str]]:
        """Graph of objects of ``type`` (needs objgraph on the worker)."""
        return self._request('objgraph', num=n, max_depth=max_depth, type=type)


class Control:
    """Remote control of workers through the broadcast mailbox."""

    #: Class of :attr:`mailbox` (kombu's, imported on first use).
    Mailbox: imported_attribute[type[KombuMailbox]] = imported_attribute(
        'kombu.pidbox', 'Mailbox')

    def __init__(self, app: Celery | None = None) -> None:
        if app is None:
            raise TypeError('Control needs an app: use app.control')
        self.app: Celery = app
        app.on_after_fork.connect(self._after_fork, weak=False)

    def _after_fork(self, **kwargs: object) -> None:
        # The producer pool belongs to the parent process.
        self.__dict__.pop('mailbox', None)

    @cached_property
    def mailbox(self) -> KombuMailbox:
        """The :class:`kombu.pidbox.Mailbox` named by :setting:`control_exchange`."""
        from kombu.utils.functional import lazy
        conf = self.app.conf
        return self.Mailbox(
            conf.control_exchange, type='fanout', accept=conf.accept_content,
            serializer=conf.task_serializer, clock=self.app.clock,
            producer_pool=lazy(lambda: self.app.amqp.producer_pool),
            queue_ttl=conf.control_queue_ttl, reply_queue_ttl=conf.control_queue_ttl,
            queue_expires=conf.control_queue_expires,
            reply_queue_expires=conf.control_queue_expires,
            queue_exclusive=conf.control_queue_exclusive,
            queue_durable=conf.control_queue_durable,
        )

    @cached_property
    def inspect(self) -> type[Inspect]:
        """:class:`Inspect` bound to this app: ``app.control.inspect(timeout=2)``."""
        return self.app.subclass_with_self(Inspect, reverse='control.inspect')

    def purge(self, connection: Connection | None = None) -> int:
        """Discard all waiting tasks from the task queues; returns how many."""
        with self.app.connection_or_acquire(connection) as conn:
            purged: int = self.app.amqp.TaskConsumer(conn).purge()
            return purged
    discard_all = purge

    def election(self, id: str, topic: str, action: object = None,
                 connection: Connection | None = None) -> None:
        """Hold an election among the workers."""
        self.broadcast('election', connection=connection, destination=None,
                       arguments={'id': id, 'topic': topic, 'action': action})

    def revoke(self, task_id: str | Sequence[str], destination: Destination = None,
               terminate: bool = False, signal: str | int | None = TERM_SIGNAME,
               **kwargs: Any) -> list[Reply] | None:
        """Tell workers to skip the task(s); with ``terminate``, kill it if running."""
        return self.broadcast('revoke', destination=destination, arguments={
            'task_id': task_id, 'terminate': terminate, 'signal': signal}, **kwargs)

    def revoke_by_stamped_headers(self, headers: Mapping[str, object] | Sequence[str],
                                  destination: Destination = None, terminate: bool = False,
                                  signal: str | int | None = TERM_SIGNAME,
                                  **kwargs: Any) -> list[Reply] | None:
        """Revoke every task whose stamped headers match ``headers``."""
        return self.broadcast('revoke_by_stamped_headers', destination=destination,
                              arguments={'headers': headers, 'terminate': terminate,
                                         'signal': signal}, **kwargs)

    def terminate(self, task_id: str | list[str], destination: Destination = None,
                  signal: str = TERM_SIGNAME, **kwargs: Any) -> list[Reply] | None:
        """Revoke and kill the running task(s)."""
        return self.revoke(task_id, destination=destination, terminate=True,
                           signal=signal, **kwargs)

    def ping(self, destination: Destination = None, timeout: float = 1.0,
             **kwargs: Any) -> list[Reply] | None:
        """Ping workers; returns a list of ``{node: {'ok': 'pong'}}``."""
        return self.broadcast('ping', reply=True, arguments={}, destination=destination,
                              timeout=timeout, **kwargs)

    def rate_limit(self, task_name: str, rate_limit: str | float | None,
                   destination: Destination = None,
                   **kwargs: Any) -> list[Reply] | None:
        """Set the rate limit of a task type (``'10/m'``; falsy disables it)."""
        return self.broadcast('rate_limit', destination=destination, arguments={
            'task_name': task_name, 'rate_limit': rate_limit}, **kwargs)

    def add_consumer(self, queue: str, exchange: str | None = None,
                     exchange_type: str = 'direct', routing_key: str | None = None,
                     options: Mapping[str, object] | None = None, destination: Destination = None,
                     **kwargs: Any) -> list[Reply] | None:
        """Tell workers to start consuming from ``queue``."""
        return self.broadcast('add_consumer', destination=destination, arguments=dict({
            'queue': queue, 'exchange': exchange, 'exchange_type': exchange_type,
            'routing_key': routing_key}, **(options or {})), **kwargs)

    def cancel_consumer(self, queue: str, destination: Destination = None,
                        **kwargs: Any) -> list[Reply] | None:
        """Tell workers to stop consuming from ``queue``."""
        return self.broadcast('cancel_consumer', destination=destination,
                              arguments={'queue': queue}, **kwargs)

    def time_limit(self, task_name: str, soft: float | None = None,
                   hard: float | None = None, destination: Destination = None,
                   **kwargs: Any) -> list[Reply] | None:
        """Set the soft/hard time limits of a task type."""
        return self.broadcast('time_limit', destination=destination, arguments={
            'task_name': task_name, 'hard': hard, 'soft': soft}, **kwargs)

    def enable_events(self, destination: Destination = None, **kwargs: Any) -> list[Reply] | None:
        """Tell workers to send task events."""
        return self.broadcast('enable_events', arguments={}, destination=destination,
                              **kwargs)

    def disable_events(self, destination: Destination = None, **kwargs: Any) -> list[Reply] | None:
        """Tell workers to stop sending task events."""
        return self.broadcast('disable_events', arguments={}, destination=destination,
                              **kwargs)

    def pool_grow(self, n: int = 1, destination: Destination = None,
                  **kwargs: Any) -> list[Reply] | None:
        """Add ``n`` pool processes."""
        return self.broadcast('pool_grow', arguments={'n': n}, destination=destination,
                              **kwargs)

    def pool_shrink(self, n: int = 1, destination: Destination = None,
                    **kwargs: Any) -> list[Reply] | None:
        """Remove ``n`` pool processes."""
        return self.broadcast('pool_shrink', arguments={'n': n}, destination=destination,
                              **kwargs)

    def autoscale(self, max: int, min: int, destination: Destination = None,
                  **kwargs: Any) -> list[Reply] | None:
        """Change the autoscaler bounds."""
        return self.broadcast('autoscale', arguments={'max': max, 'min': min},
                              destination=destination, **kwargs)

    def shutdown(self, destination: Destination = None, **kwargs: Any) -> list[Reply] | None:
        """Warm-shutdown workers."""
        return self.broadcast('shutdown', arguments={}, destination=destination, **kwargs)

    def pool_restart(self, modules: list[str] | None = None, reload: bool = False,
                     reloader: object = None, destination: Destination = None,
                     **kwargs: Any) -> list[Reply] | None:
        """Restart the pool (needs :setting:`worker_pool_restarts`)."""
        return self.broadcast('pool_restart', arguments={
            'modules': modules, 'reload': reload, 'reloader': reloader},
            destination=destination, **kwargs)

    def heartbeat(self, destination: Destination = None, **kwargs: Any) -> list[Reply] | None:
        """Ask workers for a heartbeat event now."""
        return self.broadcast('heartbeat', arguments={}, destination=destination, **kwargs)

    def broadcast(self, command: str, arguments: Mapping[str, object] | None = None,
                  destination: Destination = None, connection: Connection | None = None,
                  reply: bool = False,
                  timeout: float = 1.0, limit: int | None = None,
                  callback: ReplyCallback | None = None, channel: object = None,
                  pattern: str | None = None, matcher: str | None = None,
                  **extra_kwargs: object) -> list[Reply] | None:
        """Send ``command`` to workers; with ``reply``, return their replies.

        Arguments:
            destination: node names to address (default: every node).
            limit: stop waiting after this many replies.
            callback: called with each reply as it arrives.
            pattern, matcher: address nodes whose name matches ``pattern``
                (``matcher`` is ``'glob'`` or ``'pcre'``).
        """
        arguments = dict(arguments or {}, **extra_kwargs)
        if command == 'revoke':
            _record_revokes(self.app, arguments.get('task_id'))
        from celery.transport.pidbox import broadcast
        with self.app.connection_or_acquire(connection) as conn:
            replies: list[Reply] | None = broadcast(
                self.mailbox(conn), command, arguments, _as_destination(destination), reply,
                timeout, limit, callback, channel=channel, pattern=pattern, matcher=matcher)
        # One drain can deliver several replies at once: honour the limit exactly.
        return replies[:limit] if replies and limit else replies

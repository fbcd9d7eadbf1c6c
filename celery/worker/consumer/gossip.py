"""Consumer step: keep track of the other workers, and hold elections."""
from __future__ import annotations

from collections import defaultdict
from functools import partial
from heapq import heappush
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Callable, Iterable, cast

from celery import bootsteps
from celery.utils.log import get_logger
from celery.utils.objects import Bunch  # noqa: F401 (Celery's name here)
from celery.worker.consumer.mingle import Mingle

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from kombu import Consumer as KombuConsumer
    from kombu.asynchronous.timer import Entry
    from kombu.message import Message
    from kombu.transport.base import StdChannel
    from kombu.transport.virtual import Channel

    from celery.app.base import Celery
    from celery.canvas import Signature
    from celery.events.dispatcher import EventDispatcher
    from celery.events.state import State, Worker
    from celery.worker.consumer.consumer import Consumer

    #: A worker event, as decoded from its message.
    Event = dict[str, Any]

__all__ = ('Gossip',)

logger = get_logger(__name__)


class NodeHandlers:
    """Callbacks (``Gossip.on``) called with a peer that joined, left or was lost."""

    def __init__(self) -> None:
        self.node_join: set[Callable[[Worker], object]] = set()
        self.node_leave: set[Callable[[Worker], object]] = set()
        self.node_lost: set[Callable[[Worker], object]] = set()


class Gossip(bootsteps.ConsumerStep):
    """Subscribe to ``worker.#`` events: peers joining/leaving/lost, and elections."""

    label = 'Gossip'
    requires = (Mingle,)
    compatible_transports = frozenset({'amqp', 'redis'})
    _election_fields = itemgetter('id', 'clock', 'hostname', 'pid', 'topic', 'action', 'cver')

    def __init__(self, c: Consumer, without_gossip: bool = False, interval: float = 5.0,
                 heartbeat_interval: float = 2.0, **kwargs: Any) -> None:
        self.enabled = not without_gossip and self.compatible_transport(c.app)
        self.app = c.app
        c.gossip = self
        self.Receiver = c.app.events.Receiver
        self.hostname = c.hostname
        self.full_hostname = f'{c.hostname}.{c.pid}'
        self.on = NodeHandlers()
        self.timer = c.timer
        self.state: State | None = None
        if self.enabled:
            self.state = c.app.events.State(on_node_join=self.on_node_join,
                                            on_node_leave=self.on_node_leave,
                                            max_tasks_in_memory=1)
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval or 2.0
        self._tref: Entry | None = None
        self.dispatcher: EventDispatcher | None = None
        self.consensus_requests: defaultdict[str, list[tuple[int, str, str, object]]] = (
            defaultdict(list))
        self.consensus_replies: dict[str, list[str]] = {}
        self.event_handlers: dict[str, Callable[[Event], object]] = {
            'worker.elect': self.on_elect,
            'worker.elect.ack': self.on_elect_ack,
        }
        self.clock = c.app.clock
        self.election_handlers: dict[str, Callable[[Any], object]] = {'task': self.call_task}
        super().__init__(c, **kwargs)

    def compatible_transport(self, app: Celery) -> bool:
        """Whether the broker transport can carry worker events to every worker."""
        with app.connection_for_read() as conn:
            return bool(conn.transport.driver_type in self.compatible_transports)

    @property
    def workers(self) -> MutableMapping[str, Worker]:
        """Peers known from their events, by hostname."""
        return self.state.workers if self.state is not None else {}

    def alive_peers(self) -> list[str]:
        """Names of peers whose heartbeats are current."""
        if self.state is None:
            return []
        alive: list[Worker] = self.state.alive_workers()
        return [w.hostname for w in alive if w.hostname is not None]

    # -- elections ---------------------------------------------------------------------

    def election(self, id: str, topic: str, action: object = None) -> None:
        """Start an election: every worker acks, the lowest clock wins."""
        if self.dispatcher is None:
            logger.error('Cannot hold election %r: not connected', id)
            return
        self.consensus_replies[id] = []
        self.dispatcher.send('worker-elect', id=id, topic=topic, action=action, cver=1)

    def call_task(self, task: Signature | dict[str, Any]) -> None:
        """Election handler for topic ``task``: send the signature."""
        try:
            self.app.signature(task).apply_async()
        except Exception as exc:  # noqa: BLE001 - a bad election payload must not stop us
            logger.exception('Could not call task: %r', exc)

    def on_elect(self, event: Event) -> None:
        """Record a candidate and acknowledge the election."""
        try:
            id_, clock, hostname, pid, topic, action, _ = self._election_fields(event)
        except KeyError as exc:
            logger.error('Election request missing field %s: %r', exc, event)
            return
        heappush(self.consensus_requests[id_], (clock, f'{hostname}.{pid}', topic, action))
        if self.dispatcher is not None:
            self.dispatcher.send('worker-elect-ack', id=id_)

    def on_elect_ack(self, event: Event) -> None:
        """Count acks; once every live worker answered, the leader acts."""
        id_ = event['id']
        replies = self.consensus_replies.get(id_)
        if replies is None:
            return  # not an election we started
        replies.append(event['hostname'])
        if len(replies) < len(self.alive_peers()):
            return
        candidates = self.consensus_requests[id_]
        if not candidates:
            return
        # kombu's sort_heap needs two entries to break clock ties; it orders
        # (clock, node) pairs, the election's topic and action come along.
        if len(candidates) == 1:
            winner = candidates[0]
        else:
            first = self.clock.sort_heap([(clock, node) for clock, node, _, _ in candidates])
            winner = next(c for c in candidates if (c[0], c[1]) == tuple(first))
        _, leader, topic, action = winner
        if leader == self.full_hostname:
            logger.info('I won the election %r', id_)
            handler = self.election_handlers.get(topic)
            if handler is None:
                logger.error('Unknown election topic %r', topic)
            else:
                handler(action)
        else:
            logger.info('node %s elected for %r', leader, id_)
        self.consensus_requests.pop(id_, None)
        self.consensus_replies.pop(id_, None)

    # -- membership --------------------------------------------------------------------

    def on_node_join(self, worker: Worker) -> None:
        logger.debug('%s joined the party', worker.hostname)
        self._call_handlers(self.on.node_join, worker)

    def on_node_leave(self, worker: Worker) -> None:
        logger.debug('%s left', worker.hostname)
        self._call_handlers(self.on.node_leave, worker)

    def on_node_lost(self, worker: Worker) -> None:
        logger.info('missed heartbeat from %s', worker.hostname)
        self._call_handlers(self.on.node_lost, worker)

    def _call_handlers(self, handlers: Iterable[Callable[..., object]], *args: object) -> None:
        for handler in handlers:
            try:
                handler(*args)
            except Exception as exc:  # noqa: BLE001 - user callbacks must not stop us
                logger.exception('Ignored error from handler %r: %r', handler, exc)

    def periodic(self) -> None:
        """Forget peers whose heartbeats stopped."""
        workers = self.workers
        lost = [worker for worker in list(workers.values()) if not worker.alive]
        for worker in lost:
            self.on_node_lost(worker)
            if worker.hostname is not None:
                workers.pop(worker.hostname, None)

    # -- consuming ---------------------------------------------------------------------

    def start(self, c: Consumer) -> None:
        super().start(c)
        self.dispatcher = c.event_dispatcher

    def stop(self, c: Consumer) -> None:
        if self._tref is not None and self.timer is not None:
            self.timer.cancel(self._tref)
            self._tref = None
        super().stop(c)

    def get_consumers(self, channel: StdChannel) -> list[KombuConsumer]:
        from kombu import Consumer
        assert self.timer is not None  # the worker's Timer step runs before the consumer
        if self._tref is not None:
            self.timer.cancel(self._tref)
        self._tref = self.timer.call_repeatedly(self.interval, self.periodic)
        # kombu's maybe_channel() is annotated with its virtual Channel; any channel works.
        receiver = self.Receiver(cast('Channel', channel), routing_key='worker.#',
                                 queue_ttl=self.heartbeat_interval)
        return [Consumer(channel, queues=[receiver.queue], no_ack=True,
                         accept=receiver.accept,
                         on_message=partial(self.on_message, receiver.event_from_message))]

    def on_message(self, prepare: Callable[[Event], tuple[str, Event]],
                   message: Message) -> None:
        """Route a worker event: elections, or peer state."""
        routing_key = message.delivery_info.get('routing_key') or ''
        if routing_key.split('.', 1)[0] == 'task':
            return  # fanout transports deliver every event
        try:
            payload = message.payload
        except Exception as exc:  # noqa: BLE001 - undecodable peer event
            logger.error('Ignored undecodable worker event: %r', exc)
            return
        if not isinstance(payload, dict):
            return
        handler = self.event_handlers.get(routing_key)
        if handler is not None:
            try:
                handler(payload)
            except Exception as exc:  # noqa: BLE001 - a peer's bad event must not stop us
                logger.exception('Ignored error handling %s event: %r', routing_key, exc)
            return
        hostname = (message.headers or {}).get('hostname') or payload.get('hostname')
        if hostname == self.hostname:
            self.clock.forward()
            return
        try:
            _, event = prepare(payload)
            if self.state is not None:
                self.state.event(event)
        except (KeyError, TypeError, ValueError) as exc:
            logger.error('Ignored malformed worker event from %s: %r', hostname, exc)

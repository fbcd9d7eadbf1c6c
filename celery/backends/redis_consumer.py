"""The Redis result backend's consumer: ``celery-task-meta-<id>`` channels over pub/sub.

A state published to a channel reaches only the subscribers the server knows
of at that moment, and Redis orders the commands of *different* connections
as it pleases (a busy server may run a worker's store, or our own GET, before
a SUBSCRIBE that reached it earlier).  So a subscription counts once the
server has confirmed it on the pub/sub connection itself, and the stored
state of a result is read only after that confirmation: a result stored
before it is read then, one stored after it is published to us.

Ready results' channels are unsubscribed in batches: a group's members in one
command once nothing else is waited for, and the channel of a result waited
for alone with the next command the consumer sends (a client that waits
again at once writes once to the server, not twice; one that goes idle keeps
that single channel until it calls again or stops).  A waiter that gives up
unsubscribes at once.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from celery import states
from celery.backends.asynchronous import E_RETRY_LIMIT_EXCEEDED, BaseResultConsumer
from celery.backends.redis_pubsub import ResultPubSub
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from kombu.message import Message

    from celery.backends.redis import RedisBackend
    from celery.result import AsyncResult, ResultSet

__all__ = ('ResultConsumer', 'UNSUBSCRIBE_BATCH')

logger = get_logger(__name__)

#: Most ready results whose channels wait for one UNSUBSCRIBE.
UNSUBSCRIBE_BATCH = 128


class ResultConsumer(BaseResultConsumer):
    """Subscribes to ``celery-task-meta-<id>`` channels of the results being waited on."""

    _pubsub: Any = None
    backend: RedisBackend

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Channels of the results we listen for.
        self.subscribed_to: set[bytes] = set()
        # Green threads share one pub/sub connection: only one of them may
        # open it or change subscriptions at a time (the drainer only reads).
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        # Channels the server confirmed (a state published from then on reaches us).
        self._confirmed: set[bytes] = set()
        # SUBSCRIBEs sent per channel whose confirmation has not been read yet.
        self._unconfirmed: dict[bytes, int] = {}
        # Channels whose stored state is read once their subscription is
        # confirmed, and those confirmed meanwhile (read together).
        self._check: set[bytes] = set()
        self._due: list[bytes] = []
        # Ready results still subscribed on the server: dropped with the next command.
        self._unsubscribe_later: set[bytes] = set()

    def on_after_fork(self) -> None:
        """Drop the parent's subscriptions and connection."""
        client = self.backend.__dict__.get('_client')
        if client is not None:
            client.connection_pool.reset()
        if self._pubsub is not None:
            self._pubsub.close()
        self._pubsub = None
        self.subscribed_to = set()
        self._lock = threading.RLock()
        self._reset()
        self._has_work.clear()

    def _new_pubsub(self) -> Any:
        # Subscribe replies are wanted: they confirm the subscriptions.
        client = self.backend.client
        if self.backend.fast_path:
            return ResultPubSub(client.connection_pool, ignore_subscribe_messages=False)
        return client.pubsub(ignore_subscribe_messages=False)

    def _reconnect_pubsub(self) -> None:
        self._pubsub = None
        self.backend.drop_held()
        self.backend.client.connection_pool.reset()
        self._reset()
        self._pubsub = self._new_pubsub()
        if self.subscribed_to:
            # States published while we were away are not sent again: read
            # them once the server confirms the new subscriptions.
            self._check.update(self.subscribed_to)
            self._subscribe(list(self.subscribed_to))

    @contextmanager
    def reconnect_on_error(self) -> Iterator[None]:
        """Reconnect (with the backend retry policy) when the connection drops."""
        try:
            yield
        except self.backend.connection_errors as exc:
            logger.warning('Redis result consumer lost its connection: %r; reconnecting', exc)
            try:
                self.backend.ensure(self._reconnect_pubsub, ())
            except self.backend.connection_errors as err:
                logger.critical(E_RETRY_LIMIT_EXCEEDED)
                raise RuntimeError(E_RETRY_LIMIT_EXCEEDED) from err

    def on_state_change(self, meta: dict[str, Any], message: Message | None) -> None:
        """Fulfil the result and let go of a ready one's channel."""
        if meta['status'] not in states.READY_STATES:
            super().on_state_change(meta, message)
            return
        self._retire(meta['task_id'])
        super().on_state_change(meta, message)
        if len(self._unsubscribe_later) > 1 and not any(self._pending_results):
            # Nothing else is waited for: the server lets go of the channels
            # now (a group's in one command).  A single one waits for the
            # next command (see the module's header).
            with self._lock, self.reconnect_on_error():
                self._flush_unsubscribes()

    def start(self, initial_task_id: str, **kwargs: Any) -> None:
        """Open the pub/sub connection and subscribe to ``initial_task_id``."""
        self.consume_from(initial_task_id)

    # Celery's signature here: timeout arrives in kwargs (the base names it).
    def on_wait_for_pending(self, result: AsyncResult[Any] | ResultSet,  # type: ignore[override]
                            **kwargs: Any) -> None:
        """Read the stored states once the server confirmed the subscriptions."""
        due = []
        for task_id in _waited_ids(result):
            if not self._is_pending(task_id):
                continue
            key = self.backend.get_key_for_task(task_id)
            if key in self._confirmed:
                due.append(key)
            else:   # read once the server confirms the subscription
                self._check.add(key)
        if due:
            with self.reconnect_on_error():
                self._read_stored(due)

    def _is_pending(self, task_id: str | None) -> bool:
        try:
            self._get_pending_result(task_id)  # type: ignore[arg-type]
        except KeyError:
            return False
        return True

    def _read_stored(self, keys: list[bytes]) -> None:
        for value in self.backend.mget(keys):
            if value:
                meta = self.backend.decode(value)
                if self._is_pending(meta.get('task_id')):
                    self.on_state_change(meta, None)

    def stop(self) -> None:
        """Close the pub/sub connection (and the backend's held one)."""
        with self._lock:
            self._has_work.clear()
            if self._pubsub is not None:
                self._pubsub.close()
                self._pubsub = None
            self._reset()
        self.backend.drop_held()

    def drain_events(self, timeout: float | None = None) -> None:
        """Handle one message of the server (waiting at most ``timeout``)."""
        pubsub = self._pubsub
        if pubsub is None or pubsub.connection is None or not self.subscribed_to:
            self.wait_for_work(timeout)
            return
        with self.reconnect_on_error():
            message = pubsub.get_message(timeout=timeout)
            if message:
                kind = message['type']
                if kind == 'message':
                    if message['channel'] in self.subscribed_to:
                        self.on_state_change(self.backend.decode(message['data']), message)
                    # else: a channel let go of, its result read already
                    # (e.g. from the store, before this was published).
                elif kind == 'subscribe':
                    self._on_confirmed(message['channel'])
            if self._due and not self._check:
                due, self._due = self._due, []
                self._read_stored(due)

    def _on_confirmed(self, key: bytes) -> None:
        left = self._unconfirmed.get(key, 0) - 1
        if left > 0:   # a later SUBSCRIBE of the same channel is still on its way
            self._unconfirmed[key] = left
            return
        self._unconfirmed.pop(key, None)
        if key not in self.subscribed_to and key not in self._unsubscribe_later:
            return   # an UNSUBSCRIBE follows it
        self._confirmed.add(key)
        if key in self._check:
            self._check.discard(key)
            self._due.append(key)

    def consume_from(self, task_id: str) -> None:
        """Subscribe to the channel of ``task_id``."""
        key = self.backend.get_key_for_task(task_id)
        if key in self.subscribed_to:
            return
        with self._lock:
            with self.reconnect_on_error():
                self._listen(key)

    def _listen(self, key: bytes) -> None:
        self.subscribed_to.add(key)
        self._has_work.set()
        if key in self._unsubscribe_later:
            self._unsubscribe_later.discard(key)   # never left the server
            return
        if self._pubsub is None:
            self._pubsub = self._new_pubsub()
        if isinstance(self._pubsub, ResultPubSub) and self._unsubscribe_later:
            # The channels let go and the new one in one write.
            keys, self._unsubscribe_later = self._unsubscribe_later, set()
            self._confirmed.difference_update(keys)
            self._count_subscribe([key])
            self._pubsub.resubscribe(list(keys), [key])
            return
        self._flush_unsubscribes()
        self._subscribe([key])

    def _count_subscribe(self, keys: list[bytes]) -> None:
        for key in keys:
            self._unconfirmed[key] = self._unconfirmed.get(key, 0) + 1

    def _subscribe(self, keys: list[bytes]) -> None:
        self._count_subscribe(keys)
        self._pubsub.subscribe(*keys)

    def _flush_unsubscribes(self) -> None:
        keys, self._unsubscribe_later = self._unsubscribe_later, set()
        if keys and self._pubsub is not None:
            self._confirmed.difference_update(keys)
            self._pubsub.unsubscribe(*keys)

    def _retire(self, task_id: str) -> None:
        # Ready: the channel is let go (on the server with the next command).
        self._let_go(task_id, now=False)

    def cancel_for(self, task_id: str) -> None:
        """Unsubscribe from the channel of ``task_id`` now (its waiter gave up)."""
        self._let_go(task_id, now=True)

    def _let_go(self, task_id: str, now: bool) -> None:
        """Stop waiting on ``task_id``'s channel; unsubscribe now or with a later batch."""
        key = self.backend.get_key_for_task(task_id)
        if key not in self.subscribed_to:
            return
        with self._lock:
            self.subscribed_to.discard(key)
            self._check.discard(key)
            if not self.subscribed_to:
                self._has_work.clear()
            # Ready results waiting to be let go go in the same command.
            self._unsubscribe_later.add(key)
            if now or len(self._unsubscribe_later) >= UNSUBSCRIBE_BATCH:
                with self.reconnect_on_error():
                    self._flush_unsubscribes()


def _waited_ids(result: AsyncResult[Any] | ResultSet) -> Iterable[str]:
    """Ids of the task results ``result`` waits for (itself, or a set's members)."""
    members = getattr(result, 'results', None)
    if members is None:
        task_id = getattr(result, 'id', None)
        return [task_id] if task_id is not None else []
    return [m.id for m in members if getattr(m, '_cache', True) is None and m.id is not None]

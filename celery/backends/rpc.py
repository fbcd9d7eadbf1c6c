"""The ``rpc://`` backend: results sent back as messages to the caller's reply queue.

Each client thread has one reply queue named ``app.thread_oid``; tasks
carry its name in ``reply_to`` and workers publish every state update to it
(SURFACE 7.5).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import kombu
from kombu.common import maybe_declare

from celery import states
from celery._state import current_task, get_current_task, task_join_will_block  # noqa: F401
from celery.backends.asynchronous import (
    AsyncBackendMixin,
    BaseResultConsumer,
    MessageBuffer,
)
from celery.backends.base import Backend
from celery.exceptions import BackendError

if TYPE_CHECKING:
    from kombu import Connection
    from kombu.message import Message
    from kombu.transport.virtual import Channel

    from celery.app.base import Celery
    from celery.backends._types import BackendReduce, BackendRequest
    from celery.backends.rpc import ResultConsumer as RPCResultConsumer
    from celery.result import AsyncResult, GroupResult

__all__ = ('BacklogLimitExceeded', 'RPCBackend')

E_NO_CHORD_SUPPORT = """
The "rpc" result backend does not support chords!

Note that a group chained with a task is also upgraded to be a chord,
as this pattern requires synchronization.

Result backends that supports chords: Redis, Database, Memcached, and more.
"""


class BacklogLimitExceeded(BackendError):
    """Too much state history to fast-forward."""


class NoCacheQueue(kombu.Queue):
    """A queue kombu must not remember as declared (it auto-deletes)."""

    can_cache_declaration = False


class ResultConsumer(BaseResultConsumer):
    """Consumes this thread's reply queue."""

    backend: RPCBackend

    Consumer: type[kombu.Consumer] = kombu.Consumer

    _connection: Any = None
    _consumer: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connection = self._consumer = None

    def start(self, initial_task_id: str, no_ack: bool = True, **kwargs: Any) -> None:
        """Connect and start consuming the reply queue."""
        connection = self.app.connection_for_read()
        consumer = self.Consumer(
            connection.default_channel, [self.backend.binding],
            callbacks=[self.on_state_change], no_ack=no_ack, accept=self.accept)
        consumer.consume()
        # Published only once usable: a green drainer reads as soon as it sees them.
        self._connection, self._consumer = connection, consumer
        self._has_work.set()

    def drain_events(self, timeout: float | None = None) -> None:
        """Deliver the next messages to :meth:`on_state_change`."""
        if self._connection:
            self._connection.drain_events(timeout=timeout)
            return
        self.wait_for_work(timeout)

    def stop(self) -> None:
        """Cancel the consumer and close the connection."""
        self._has_work.clear()
        try:
            if self._consumer is not None:
                self._consumer.cancel()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._consumer = self._connection = None

    def on_after_fork(self) -> None:
        """Forget the parent's connection without closing it."""
        self._has_work.clear()
        self._consumer = None
        if self._connection is not None:
            self._connection.collect()
            self._connection = None

    def consume_from(self, task_id: str) -> None:
        """Make sure the reply queue is being consumed."""
        if self._consumer is None:
            self.start(task_id)
            return
        queue = self.backend.binding
        if not self._consumer.consuming_from(queue):
            self._consumer.add_queue(queue)
            self._consumer.consume()

    def cancel_for(self, task_id: str) -> None:
        """One queue serves every task of the thread: nothing to cancel per task."""


class RPCBackend(Backend, AsyncBackendMixin):
    """Results as messages to the client's reply queue."""

    Exchange: type[kombu.Exchange] = kombu.Exchange
    Queue: type[kombu.Queue] = NoCacheQueue
    Consumer: type[kombu.Consumer] = kombu.Consumer
    Producer: type[kombu.Producer] = kombu.Producer
    ResultConsumer = ResultConsumer
    result_consumer: RPCResultConsumer
    BacklogLimitExceeded = BacklogLimitExceeded

    persistent = False
    supports_result_compression = True  # as the result messages' compression
    supports_autoexpire = True
    supports_native_join = True

    def __init__(self, app: Celery, connection: Connection | None = None,
                 exchange: str | None = None, exchange_type: str | None = None,
                 persistent: bool | None = None,
                 serializer: str | None = None, auto_delete: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(app, serializer=serializer, **kwargs)
        conf = self.app.conf
        self._connection = connection
        self._out_of_band: dict[str, Any] = {}
        self.persistent = self.prepare_persistent(persistent)
        self.delivery_mode = 2 if self.persistent else 1
        self.exchange = self.Exchange(None)
        self.exchange_name = exchange or conf.result_exchange
        self.exchange_type = exchange_type or conf.result_exchange_type
        self.auto_delete = auto_delete
        self.compression = conf.result_compression
        self._pending_messages = MessageBuffer()
        self.result_consumer = self.ResultConsumer(
            self, self.app, self.accept, self._pending_results, self._pending_messages)

    @property
    def oid(self) -> str:
        """Name of this thread's reply queue."""
        return self.app.thread_oid

    @property
    def binding(self) -> kombu.Queue:
        """This thread's reply queue."""
        expires = self.expires
        return self.Queue(self.oid, self.exchange, self.oid, durable=True,
                          auto_delete=True, expires=expires if expires else None)

    def on_task_call(self, producer: kombu.Producer, task_id: str) -> dict[str, Any]:
        """Declare the reply queue before the task is published (once per channel)."""
        # Inside a prefork worker child the parent already declared it.
        if not task_join_will_block():
            for queue in self.on_reply_declare(task_id):
                maybe_declare(queue(producer.channel), retry=True)
        return {}

    def on_reply_declare(self, task_id: str) -> list[kombu.Queue]:
        """The queues to declare before publishing ``task_id`` (this thread's reply queue)."""
        return [self.binding]

    def revive(self, channel: Channel) -> None:
        """Declare the reply queue again on a new ``channel`` (after a reconnection)."""
        self.binding(channel).declare()

    def on_result_fulfilled(self, result: AsyncResult[Any] | GroupResult) -> None:
        """The reply queue is shared by the thread's results: keep consuming."""

    def ensure_chords_allowed(self) -> None:
        """Chords need to read results from anywhere, which rpc cannot."""
        raise NotImplementedError(E_NO_CHORD_SUPPORT.strip())

    def as_uri(self, include_password: bool = True) -> str:
        """Always ``rpc://``."""
        return 'rpc://'

    def destination_for(self, task_id: str,
                        request: BackendRequest | None) -> tuple[str | None, str]:
        """Return ``(reply_to, correlation_id)`` for the result of ``task_id``."""
        if request is None:
            request = getattr(get_current_task(), 'request', None)
        if request is None:
            raise RuntimeError(
                f'RPC backend missing task request for {task_id!r}: results can only be '
                'sent from inside a task or with an explicit request.')
        return request.reply_to, request.correlation_id or task_id

    def store_result(self, task_id: str, result: object, state: str,
                     traceback: str | None = None, request: BackendRequest | None = None,
                     **kwargs: Any) -> object:
        """Publish the state to the caller's reply queue (no-op without ``reply_to``)."""
        routing_key, correlation_id = self.destination_for(task_id, request)
        if not routing_key:
            return None
        meta = self._get_result_meta(self.encode_result(result, state), state, traceback,
                                     request)
        meta['task_id'] = task_id
        with self.app.amqp.producer_pool.acquire(block=True) as producer:
            producer.publish(
                meta, exchange=self.exchange, routing_key=routing_key,
                correlation_id=correlation_id, serializer=self.serializer,
                compression=self.compression, retry=True, retry_policy=self.retry_policy,
                declare=None, delivery_mode=self.delivery_mode)
        return result

    def on_out_of_band_result(self, task_id: str, message: Message) -> None:
        """Keep a message for another task until someone asks for it."""
        self.result_consumer.on_out_of_band_result(message)
        self._out_of_band[task_id] = message

    def get_task_meta(self, task_id: str, backlog_limit: int = 1000) -> dict[str, Any]:
        """Fast-forward the reply queue to the newest state of ``task_id``."""
        buffered = self._out_of_band.pop(task_id, None)
        if buffered:
            return self._set_cache_by_message(task_id, buffered)
        pushed = self._drain_pushed(task_id)
        if pushed is not None:
            return pushed
        latest_by_id: dict[str, Any] = {}
        for message in self._slurp_from_queue(task_id, self.accept, backlog_limit):
            tid = self._get_message_task_id(message)
            if tid is None:
                continue
            previous = latest_by_id.get(tid)
            if previous is not None:
                previous.ack()
            latest_by_id[tid] = message
        latest = latest_by_id.pop(task_id, None)
        for tid, message in latest_by_id.items():
            self.on_out_of_band_result(tid, message)
        if latest:
            latest.requeue()
            return self._set_cache_by_message(task_id, latest)
        try:
            return self._cache[task_id]
        except KeyError:
            return {'status': states.PENDING, 'result': None}

    def poll(self, task_id: str, backlog_limit: int = 1000) -> dict[str, Any]:
        """The newest state of ``task_id`` (the older name of :meth:`get_task_meta`)."""
        return self.get_task_meta(task_id, backlog_limit)

    def _drain_pushed(self, task_id: str) -> dict[str, Any] | None:
        # While a consumer is active, new states reach it rather than the
        # queue: collect what already arrived without blocking.
        if self.result_consumer._connection is None:
            return None
        try:
            self.result_consumer.drain_events(timeout=0)
        except TimeoutError:
            pass
        meta = self._pending_messages.peek(task_id)
        if meta is None:
            return None
        meta = self._cache[task_id] = self.meta_from_decoded(meta)
        return meta

    def _set_cache_by_message(self, task_id: str, message: Any) -> dict[str, Any]:
        payload = self._cache[task_id] = self.meta_from_decoded(message.payload)
        return payload

    @staticmethod
    def _get_message_task_id(message: Any) -> str | None:
        task_id: str | None
        try:
            task_id = message.properties['correlation_id']
        except (AttributeError, KeyError):
            task_id = (message.payload or {}).get('task_id')
        return task_id

    def _slurp_from_queue(self, task_id: str, accept: Any, limit: int = 1000,
                          no_ack: bool = False) -> Iterator[Any]:
        with self.app.pool.acquire_channel(block=True) as (_, channel):
            binding = self.binding(channel)
            binding.declare()
            for _ in range(limit):
                message = binding.get(accept=accept, no_ack=no_ack)
                if not message:
                    return
                yield message
            raise self.BacklogLimitExceeded(task_id)

    def reload_task_result(self, task_id: str) -> None:
        """Results are messages: they cannot be re-read."""
        raise NotImplementedError('reload_task_result is not supported by this backend.')

    def reload_group_result(self, task_id: str) -> None:
        """Results are messages: they cannot be re-read."""
        raise NotImplementedError('reload_group_result is not supported by this backend.')

    def save_group(self, group_id: str, result: GroupResult) -> NoReturn:
        """Groups cannot be stored in a reply queue."""
        raise NotImplementedError('save_group is not supported by this backend.')

    def restore_group(self, group_id: str, cache: bool = True) -> NoReturn:
        """Groups cannot be stored in a reply queue."""
        raise NotImplementedError('restore_group is not supported by this backend.')

    def delete_group(self, group_id: str) -> None:
        """Groups cannot be stored in a reply queue."""
        raise NotImplementedError('delete_group is not supported by this backend.')

    def _forget(self, task_id: str) -> None:
        # Only the local cache holds anything to forget.
        pass

    def __reduce__(self, args: tuple[Any, ...] = (),
                   kwargs: dict[str, Any] | None = None) -> BackendReduce:
        kwargs = dict(kwargs or {}, persistent=self.persistent, serializer=self.serializer)
        return super().__reduce__(args, kwargs)

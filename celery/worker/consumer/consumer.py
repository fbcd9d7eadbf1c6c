"""The worker's consumer: receives task messages and hands them to the pool.

Connecting to the broker and recovering from a lost connection is
:mod:`celery.worker.consumer.broker_connection`; answering messages no task
can take is :mod:`celery.worker.consumer.bad_messages`.
"""
from __future__ import annotations

import os
import threading
from collections import defaultdict
from functools import partial
from time import sleep
from typing import TYPE_CHECKING, Any

from kombu.exceptions import ContentDisallowed, DecodeError

from celery import bootsteps
from celery.exceptions import (  # noqa: F401 (NotRegistered: Celery's name here)
    InvalidTaskError, NotRegistered, WorkerShutdown, WorkerTerminate,
)
from celery.utils.log import get_logger
from celery.utils.nodenames import gethostname
from celery.utils.objects import Bunch  # noqa: F401 (Celery's name here)
from celery.utils.time import (  # noqa: F401 (humanize_seconds: Celery's name here)
    humanize_seconds, rate,
)
from celery.worker import loops
from celery.worker._parents import app_steps
from celery.worker.consumer.bad_messages import (  # noqa: F401 (MESSAGE_REPORT: Celery's name here)
    MESSAGE_REPORT,
    BadMessageHandlers,
)
from celery.worker.consumer.broker_connection import (  # noqa: F401 (Celery's names here)
    CANCEL_TASKS_BY_DEFAULT,
    COLLECT_SOCKET_TIMEOUT,
    CONNECTION_ERROR,
    CONNECTION_FAILOVER,
    CONNECTION_RETRY,
    CONNECTION_RETRY_STEP,
    STOP_CONDITIONS,
    TERMINATING_TASK_ON_RESTART_AFTER_A_CONNECTION_LOSS,
    BrokerConnectionHandling,
)
from celery.worker.message_errors import (  # noqa: F401 (Celery's names for them)
    INVALID_TASK_ERROR, MESSAGE_DECODE_ERROR, UNKNOWN_FORMAT, UNKNOWN_TASK_ERROR, dump_body,
)
from celery.worker.state import (  # noqa: F401 (successful_requests: Celery's name here)
    active_requests, maybe_shutdown, requests, reserved_requests, successful_requests,
    task_reserved,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from kombu import Connection, Consumer as KombuConsumer
    from kombu.asynchronous import Hub
    from kombu.asynchronous.timer import Entry
    from kombu.clocks import LamportClock
    from kombu.common import QoS
    from kombu.message import Message

    from celery.app.base import Celery
    from celery.app.task import Task
    from celery.concurrency.base import BasePool
    from celery.events.dispatcher import EventDispatcher
    from celery.worker._types import TokenBucket, WorkerTimer
    from celery.worker.consumer.gossip import Gossip
    from celery.worker.heartbeat import Heart
    from celery.worker.request import Request
    from celery.worker.worker import WorkController

    #: What the consumer does with a request ready for the pool.
    RequestHandler = Callable[[Request], object]
    #: A task's message handler (see :mod:`celery.worker.strategy`).
    Strategy = Callable[..., object]
    #: Settles a message from the consumer's thread (``ack``/``reject``).
    Settle = Callable[..., None]

__all__ = ('Consumer', 'Evloop', 'dump_body')

logger = get_logger(__name__)

CLOSE = bootsteps.CLOSE
TERMINATE = bootsteps.TERMINATE
#: AMQP reply code for an exclusive queue still owned by a dying connection.
RESOURCE_LOCKED = 405

#: Most seconds a task event waits in the worker before it is published.
EVENT_FLUSH_INTERVAL = 0.1


class Evloop(bootsteps.StartStopStep):
    """The last consumer step: run the event loop until the worker stops."""

    label = 'event loop'
    last = True

    def start(self, c: Consumer) -> None:
        if c.controller is not None and getattr(c.controller, 'pool_start_pending', False):
            from celery.worker.components import start_pool
            start_pool(c.controller)
        c.loop(*c.loop_args())

    def stop(self, c: Consumer) -> None:
        """Nothing to stop: the loop exits when the blueprint leaves RUN."""


class Consumer(BadMessageHandlers, BrokerConnectionHandling):
    """Consume task messages from the broker and dispatch them to strategies."""

    Strategies = dict
    connection: Connection | None = None
    task_consumer: KombuConsumer | None = None
    qos: QoS | None = None
    event_dispatcher: EventDispatcher | None = None
    _event_flush: Entry | None = None
    #: Set by the Heart, Gossip and Agent steps (None when they are off).
    heart: Heart | None
    gossip: Gossip
    agent: object
    restart_count = -1  # the first start counts as a restart
    first_connection_attempt = True
    #: How many times in a row connecting to the broker failed.
    broker_connection_retry_attempt = 0
    #: Called with the consumer once it is consuming (then cleared).
    init_callback: Callable[[Consumer], object] | None = None
    pool: BasePool | None = None
    timer: WorkerTimer | None = None

    class Blueprint(bootsteps.Blueprint):
        """The consumer's steps."""

        # Celery's blueprint name and bootstep list, kept for compatibility.
        name = 'Consumer'
        default_steps = [
            'celery.worker.consumer.connection:Connection',
            'celery.worker.consumer.mingle:Mingle',
            'celery.worker.consumer.events:Events',
            'celery.worker.consumer.gossip:Gossip',
            'celery.worker.consumer.heart:Heart',
            'celery.worker.consumer.control:Control',
            'celery.worker.consumer.tasks:Tasks',
            'celery.worker.consumer.delayed_delivery:DelayedDelivery',
            'celery.worker.consumer.consumer:Evloop',
            'celery.worker.consumer.agent:Agent',
        ]

        def shutdown(self, parent: Consumer) -> None:
            """Send ``shutdown`` to every step."""
            self.send_all(parent, 'shutdown')

    def __init__(self, on_task_request: RequestHandler,
                 init_callback: Callable[[Consumer], object] = lambda c: None,
                 hostname: str | None = None, pool: BasePool | None = None,
                 app: Celery | None = None, timer: WorkerTimer | None = None,
                 controller: WorkController | None = None, hub: Hub | None = None,
                 amqheartbeat: float | None = None,
                 worker_options: dict[str, Any] | None = None,
                 disable_rate_limits: bool = False, initial_prefetch_count: int = 2,
                 prefetch_multiplier: int = 1, **kwargs: Any) -> None:
        if app is None:
            raise TypeError('Consumer() needs the app')
        self.app: Celery = app
        self.hostname = hostname or gethostname()
        self.pid = os.getpid()
        self.controller = controller
        self.init_callback = init_callback
        # What the worker's other steps built: where requests go and what runs them.
        self.pool, self.timer, self.hub = pool, timer, hub
        self.on_task_request = on_task_request
        self.on_task_message: set[Callable[[Request], object]] = set()
        self.strategies: dict[str, Strategy] = self.Strategies()
        self.conninfo = self.app.connection_for_read()
        self.connection_errors = self.conninfo.connection_errors
        self.channel_errors = self.conninfo.channel_errors
        self.amqheartbeat = self._heartbeat_interval(amqheartbeat)
        self.amqheartbeat_rate = self.app.conf.broker_heartbeat_checkrate
        self.disable_rate_limits = disable_rate_limits
        self.initial_prefetch_count = initial_prefetch_count
        self._max_prefetch_count = initial_prefetch_count
        self.prefetch_multiplier = prefetch_multiplier
        self._maximum_prefetch_restored = True
        self._limit_order = 0
        self._thread_id: int | None = None
        self._wake_r: int | None = None
        self._wake_w: int | None = None
        # Whether the signal module writes to the wake-up pipe (set from the main thread).
        self._wakes_on_signals = False
        self.task_buckets: defaultdict[str, TokenBucket | None] = defaultdict(lambda: None)
        self.reset_rate_limits()
        self.loop = loops.asynloop if hub else loops.synloop
        self._pending_operations: list[Callable[[], object]] = []
        self._pending_ack_operations: list[Callable[[], object]] = []
        # Started steps, any with a start method (bootsteps' _HasSteps).
        self.steps: list[Any] = []
        self.blueprint: Consumer.Blueprint = self.Blueprint(
            steps=app_steps(self.app, 'consumer'), on_close=self.on_close)
        self.blueprint.apply(self, **dict(worker_options or {}, **kwargs))

    @property
    def max_prefetch_count(self) -> int:
        """The full prefetch count, which a reduced one is restored to."""
        return self._max_prefetch_count

    @max_prefetch_count.setter
    def max_prefetch_count(self, value: int) -> None:
        self._max_prefetch_count = value

    def _heartbeat_interval(self, requested: float | None) -> float:
        # Heartbeats need a sender between messages: the event loop or a green pool.
        if not (self.hub or getattr(self.pool, 'is_green', False)):
            return 0
        return self.app.conf.broker_heartbeat if requested is None else requested

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Run the blueprint, reconnecting after recoverable broker errors."""
        blueprint = self.blueprint
        while blueprint.state not in STOP_CONDITIONS:
            maybe_shutdown()
            if self.restart_count > 0:
                sleep(min(self.restart_count, 2) * 0.5)
            self.restart_count += 1
            recoverable = self.connection_errors
            if self.app.conf.broker_channel_error_retry:
                recoverable = recoverable + self.channel_errors
            try:
                blueprint.start(self)
            except recoverable as exc:
                self._on_recoverable_error(exc)
            except self.channel_errors as exc:
                if getattr(exc, 'code', None) != RESOURCE_LOCKED:
                    raise
                # After a fast reconnect the broker may not have noticed that the
                # old connection, owner of an exclusive queue, is gone: retry.
                logger.warning('consumer: %s; retrying with a new connection.', exc)
                self._reconnect_after_channel_error()

    def on_close(self) -> None:
        """Forget in-memory messages: their delivery tags die with the channel."""
        if self.timer:
            self.timer.clear()
        for bucket in self.task_buckets.values():
            if bucket:
                bucket.clear_pending()
        for request in tuple(reserved_requests):
            if request not in active_requests:
                requests.pop(request.id, None)
                reserved_requests.discard(request)
        dispatcher = getattr(self.controller, 'dispatcher', None)
        if dispatcher is not None:
            dispatcher.clear()
        if self.pool is not None and getattr(self.pool, 'flush', None):
            self.pool.flush()

    def on_ready(self) -> None:
        """Called by the loop once consuming: run ``init_callback`` and signal ready."""
        callback, self.init_callback = self.init_callback, None
        if callback:
            callback(self)

    def stop(self) -> None:
        """Stop consuming (warm shutdown)."""
        self.blueprint.stop(self)

    def shutdown(self) -> None:
        """Close every step, then the wake-up pipe."""
        self.blueprint.shutdown(self)
        self._close_wake()

    def _close_wake(self) -> None:
        # The pipe lives as long as the consumer (reconnects reuse it); a
        # worker embedded again and again (the testing API) must not leak it.
        read_fd, write_fd = self._wake_r, self._wake_w
        if read_fd is None or write_fd is None:
            return
        self._wake_r = self._wake_w = None
        if self._wakes_on_signals:
            self._wakes_on_signals = False
            import signal   # (as in _wake_on_signals)
            try:
                previous = signal.set_wakeup_fd(-1)
                if previous != write_fd:   # replaced by someone else since: theirs stays
                    signal.set_wakeup_fd(previous)
            except ValueError:
                pass   # not the main thread: the process keeps it until it exits
        # A closed hub has forgotten its readers (and asking it would open a new poller).
        if self.hub is not None and read_fd in self.hub.readers:
            try:
                self.hub.remove_reader(read_fd)
            except (OSError, ValueError, KeyError):
                pass
        for fd in (read_fd, write_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def register_with_event_loop(self, hub: Hub) -> None:
        """Give each step a chance to add readers/timers to ``hub``."""
        if self._wake_r is None:
            # Lets other threads (e.g. a stop request) interrupt the poller.
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._wake_on_signals()
        hub.add_reader(self._wake_r, self._on_wakeup)
        self.blueprint.send_all(self, 'register_with_event_loop', args=(hub,),
                                description='Hub.register')

    def loop_args(self) -> tuple[Consumer, Connection, KombuConsumer, bootsteps.Blueprint,
                                 Hub | None, QoS, float, LamportClock, float]:
        """Arguments for :func:`~celery.worker.loops.asynloop`/``synloop``."""
        # The Connection and Tasks steps, which run before the loop, set them.
        assert self.connection is not None and self.task_consumer is not None
        assert self.qos is not None
        return (self, self.connection, self.task_consumer, self.blueprint, self.hub,
                self.qos, self.amqheartbeat, self.app.clock, self.amqheartbeat_rate)

    # -- scheduling helpers -------------------------------------------------------------

    def call_soon(self, p: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Run ``p(*args, **kwargs)`` in the consumer thread (now, if already there)."""
        self._call_in_loop(self._pending_operations, p, *args, **kwargs)

    def call_soon_ack(self, p: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Like :meth:`call_soon`, but run before other pending operations (acks free slots)."""
        self._call_in_loop(self._pending_ack_operations, p, *args, **kwargs)

    def _call_in_loop(self, pending: list[Callable[[], object]], fun: Callable[..., object],
                      *args: Any, **kwargs: Any) -> None:
        if threading.get_ident() == self._thread_id:
            fun(*args, **kwargs)
        elif self.hub:
            self.hub.call_soon(partial(fun, *args, **kwargs))
            self._wakeup()
        else:
            pending.append(partial(fun, *args, **kwargs))

    def in_loop_thread(self) -> bool:
        """Whether the caller runs in the thread that consumes messages."""
        return self._thread_id is None or threading.get_ident() == self._thread_id

    def _wake_on_signals(self) -> None:
        # A shutdown signal only sets a flag: without a wake-up the loop would
        # notice it at the next broker or pool event, seconds later.
        import signal
        try:
            signal.set_wakeup_fd(self._wake_w if self._wake_w is not None else -1,
                                 warn_on_full_buffer=False)
        except ValueError:
            pass  # not the main thread (an embedded worker): stop() wakes the loop
        else:
            self._wakes_on_signals = True

    def _wakeup(self) -> None:
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b'\x01')
            except (BlockingIOError, OSError):
                pass  # a wake-up is already pending, or the loop is gone

    def _on_wakeup(self, *args: object) -> None:
        if self._wake_r is None:
            return
        try:
            os.read(self._wake_r, 4096)
        except (BlockingIOError, OSError):
            pass

    def perform_pending_operations(self) -> None:
        """Run operations queued by other threads (blocking loop only)."""
        while self._pending_ack_operations or self._pending_operations:
            pending = self._pending_ack_operations or self._pending_operations
            try:
                pending.pop(0)()
            except Exception as exc:  # noqa: BLE001 - one failure must not stop the loop
                logger.exception('Pending callback raised: %r', exc)

    def reset_rate_limits(self) -> None:
        """Rebuild the token bucket of every task from its ``rate_limit``."""
        self.task_buckets.update(
            (name, self.bucket_for_task(task)) for name, task in self.app.tasks.items())

    def bucket_for_task(self, type: Task | type[Task]) -> TokenBucket | None:
        """A token bucket for a task's ``rate_limit`` (None: unlimited)."""
        limit = rate(getattr(type, 'rate_limit', None))
        if not limit:
            return None
        from kombu.utils.limits import TokenBucket
        return TokenBucket(limit, capacity=1)

    def _limit_move_to_pool(self, request: Request) -> None:
        task_reserved(request)
        self.on_task_request(request)

    def _schedule_bucket_request(self, bucket: TokenBucket) -> None:
        while True:
            try:
                request, tokens = bucket.pop()
            except IndexError:
                return
            if bucket.can_consume(tokens):
                self._limit_move_to_pool(request)
                continue
            # Keep the order: back to the head, wake up when a token is due.
            bucket.contents.appendleft((request, tokens))
            pri = self._limit_order = (self._limit_order + 1) % 10
            assert self.timer is not None  # rate limits are only applied while running
            self.timer.call_after(bucket.expected_time(tokens),
                                  self._schedule_bucket_request, (bucket,), priority=pri)
            return

    def _limit_task(self, request: Request, bucket: TokenBucket, tokens: int) -> None:
        bucket.add((request, tokens))
        return self._schedule_bucket_request(bucket)

    def _limit_post_eta(self, request: Request, bucket: TokenBucket, tokens: int,
                        raised: bool = True) -> None:
        if raised and self.qos is not None:
            self.qos.decrement_eventually()
        bucket.add((request, tokens))
        return self._schedule_bucket_request(bucket)

    def apply_eta_task(self, request: Request, raised: bool = True) -> None:
        """Timer callback: an ETA task is due (lower the prefetch it had raised)."""
        task_reserved(request)
        self.on_task_request(request)
        if raised and self.qos is not None:
            self.qos.decrement_eventually()

    # -- queues ---------------------------------------------------------------------

    def add_task_queue(self, queue: str, exchange: str | None = None,
                       exchange_type: str | None = None, routing_key: str | None = None,
                       **options: object) -> None:
        """Start consuming from ``queue`` (remote control ``add_consumer``)."""
        cset = self.task_consumer
        queues = self.app.amqp.queues
        if queue in queues:
            q = queues[queue]
        else:
            exchange = queue if exchange is None else exchange
            exchange_type = 'direct' if exchange_type is None else exchange_type
            q = queues.select_add(queue, exchange=exchange, exchange_type=exchange_type,
                                  routing_key=routing_key, **options)
        # Not connected (reconnecting): the Tasks step consumes every selected queue.
        if cset is not None and not cset.consuming_from(queue):
            cset.add_queue(q)
            cset.consume()
            logger.info('Started consuming from %s', queue)

    def cancel_task_queue(self, queue: str) -> None:
        """Stop consuming from ``queue`` (remote control ``cancel_consumer``)."""
        logger.info('Canceling queue %s', queue)
        self.app.amqp.queues.deselect(queue)
        if self.task_consumer is not None:
            self.task_consumer.cancel_by_queue(queue)

    def update_strategies(self) -> None:
        """Build the message handler of every registered task."""
        from celery.app.trace import build_tracer
        loader = self.app.loader
        for name, task in self.app.tasks.items():
            self.strategies[name] = task.start_strategy(self.app, self)
            task.__trace__ = build_tracer(name, task, loader, self.hostname, app=self.app)

    # -- message intake --------------------------------------------------------------

    def create_task_handler(self) -> Callable[[Message], None]:
        """Return the callback run for every message on the task queues."""
        from celery.utils.serialization import prepare_accept_content
        strategies = self.strategies
        callbacks = self.on_task_message
        accept = prepare_accept_content(self.app.conf.accept_content)
        broker_errors = self.connection_errors + self.channel_errors
        ack = self._make_settle('ack_log_error')
        reject = self._make_settle('reject_log_error')

        def on_task_received(message: Message) -> None:
            payload = None
            try:
                type_ = message.headers['task']                 # protocol 2
            except TypeError:
                return self.on_unknown_message(None, message)
            except KeyError:
                try:
                    payload = message.decode()
                except Exception as exc:  # noqa: BLE001 - any decode failure
                    return self.on_decode_error(message, exc)
                try:
                    type_ = payload['task']                       # protocol 1
                except (TypeError, KeyError):
                    return self.on_unknown_message(payload, message)
            else:
                # No accept list (accept_content=None): any content type is accepted.
                if accept is not None and message.content_type not in accept:
                    return self.on_decode_error(message, ContentDisallowed(
                        f'Refusing to deserialize untrusted content of type '
                        f'{message.content_type} (not in accept_content)'))
            try:
                strategy = strategies[type_]
            except (KeyError, TypeError) as exc:
                return self.on_unknown_task(payload, message, exc)
            try:
                strategy(message, payload, ack(message), reject(message), callbacks)
            except (InvalidTaskError, ContentDisallowed) as exc:
                return self.on_invalid_task(payload, message, exc)
            except DecodeError as exc:
                return self.on_decode_error(message, exc)
            except broker_errors:
                raise
            except (WorkerShutdown, WorkerTerminate):
                raise
            except Exception as exc:  # noqa: BLE001 - bad input must not stop the worker
                return self.on_invalid_task(payload, message, exc)
            return None

        self._thread_id = threading.get_ident()
        from celery.worker.redelivery_limit import guard_redeliveries
        return guard_redeliveries(self, on_task_received)

    def _make_settle(self, method: str) -> Callable[[Message], Settle]:
        call_soon = self.call_soon_ack
        consumer = self

        def bind(message: Message) -> Settle:
            settle = getattr(message, method)

            def settle_in_consumer_thread(*args: object) -> None:
                if threading.get_ident() == consumer._thread_id:
                    settle(*args)
                else:
                    call_soon(settle, *args)
            return settle_in_consumer_thread
        return bind

    def on_send_event_buffered(self) -> None:
        """An event was buffered: flush the buffer within :data:`EVENT_FLUSH_INTERVAL`."""
        # One message per loop turn would cost the broker a publish per task
        # under load; waiting a moment lets one message carry many events
        # (the dispatcher also flushes as soon as its buffer is full).
        if self.hub and self._event_flush is None:
            self._event_flush = self.hub.call_later(EVENT_FLUSH_INTERVAL, self._flush_events)

    def _flush_events(self) -> None:
        self._event_flush = None
        if self.event_dispatcher:
            self.event_dispatcher.flush()

    def info(self) -> dict[str, Any]:
        """Consumer details for ``inspect stats``."""
        info = self.blueprint.info(self)
        info['prefetch_count'] = self.qos.value if self.qos else 'N/A'
        return info

    def __repr__(self) -> str:
        return f'<Consumer: {self.hostname} ({self.blueprint.human_state()})>'


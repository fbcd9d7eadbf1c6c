"""The consumer's main loops: event-loop driven or blocking."""
from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

from celery import bootsteps
from celery.exceptions import WorkerLostError, WorkerTerminate
from celery.utils.log import get_logger
from celery.worker import soft_shutdown, state

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from kombu import Connection, Consumer as KombuConsumer
    from kombu.asynchronous import Hub
    from kombu.clocks import LamportClock
    from kombu.common import QoS

    from celery.bootsteps import Blueprint
    from celery.concurrency.base import BasePool
    from celery.worker._types import WorkerTimer
    from celery.worker.consumer.consumer import Consumer

__all__ = ('asynloop', 'synloop')

logger = get_logger(__name__)


def _quick_drain(connection: Connection, timeout: float = 0.1) -> None:
    try:
        connection.drain_events(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - only a timeout is expected here
        exc_errno = getattr(exc, 'errno', None)
        if exc_errno is not None and exc_errno != errno.EAGAIN:
            raise


def _enable_amqheartbeats(timer: WorkerTimer | Hub, connection: Connection | None,
                          rate: float = 2.0) -> list[BaseException | None]:
    heartbeat_error: list[BaseException | None] = [None]
    if not connection:
        return heartbeat_error
    heartbeat = connection.get_heartbeat_interval()
    if not (heartbeat and connection.supports_heartbeats):
        return heartbeat_error

    def tick(rate: float) -> None:
        try:
            connection.heartbeat_check(rate)
        except Exception as exc:  # noqa: BLE001 - re-raised by the loop
            heartbeat_error[0] = exc

    timer.call_repeatedly(heartbeat / rate, tick, (rate,))
    return heartbeat_error


def asynloop(obj: Consumer, connection: Connection, consumer: KombuConsumer,
             blueprint: Blueprint, hub: Hub | None, qos: QoS, heartbeat: float | None,
             clock: LamportClock, hbrate: float = 2.0) -> None:
    """Consume through the kombu Hub until the blueprint stops."""
    assert hub is not None  # the consumer picks this loop only when it has a hub
    RUN = bootsteps.RUN
    update_qos: Callable[[], object] = qos.update
    errors = connection.connection_errors
    on_task_received = obj.create_task_handler()
    heartbeat_error = _enable_amqheartbeats(hub.timer, connection, rate=hbrate)
    consumer.on_message = on_task_received
    if obj.controller is not None:
        obj.controller.register_with_event_loop(hub)
    obj.register_with_event_loop(hub)
    consumer.consume()
    obj.on_ready()
    if not obj.restart_count and not _pool_started_ok(obj.pool):
        raise WorkerLostError('Could not start worker processes')
    if connection.transport.driver_type == 'amqp':
        hub.call_soon(_quick_drain, connection)
    hub.propagate_errors = errors

    def sync_qos() -> None:
        # Run on every hub tick, right before poll(): messages are also read
        # by callbacks the hub runs before polling (the amqp transport re-reads
        # that way), and a prefetch change they make must reach the broker
        # before the loop sleeps.  Repeated because a message delivered while
        # waiting for qos-ok changes it again.  One basic.qos per tick at most
        # in the common case, not one per message.
        while qos.prev != qos.value:
            update_qos()

    hub.on_tick.add(sync_qos)
    loop = hub.create_loop()
    maybe_shutdown = state.maybe_shutdown
    try:
        while blueprint.state == RUN and obj.connection:
            try:
                maybe_shutdown()
            except WorkerTerminate:
                _wait_for_soft_shutdown(obj, hub, loop)
                raise
            if heartbeat_error[0] is not None:
                raise heartbeat_error[0]
            # Also before the tick: transports decide what to poll for in
            # their own tick callbacks (Redis: whether to BRPOP at all).
            sync_qos()
            try:
                next(loop)
            except StopIteration:
                loop = hub.create_loop()
    finally:
        hub.on_tick.discard(sync_qos)
        try:
            hub.reset()
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the cause
            logger.exception('Error cleaning up after event loop: %r', exc)


def _wait_for_soft_shutdown(obj: Consumer, hub: Hub | None = None,
                            loop: Iterator[None] | None = None) -> None:
    """Before a cold shutdown: the worker's soft shutdown, if it has one configured."""
    wait = getattr(obj.controller, 'wait_for_soft_shutdown', None)
    if wait is not None:
        wait()
    else:
        soft_shutdown.wait_for_running_tasks(obj, hub, loop)


def synloop(obj: Consumer, connection: Connection, consumer: KombuConsumer,
            blueprint: Blueprint, hub: Hub | None, qos: QoS, heartbeat: float | None,
            clock: LamportClock, hbrate: float = 2.0, **kwargs: object) -> None:
    """Consume with blocking ``drain_events`` (transports without async I/O)."""
    RUN = bootsteps.RUN
    on_task_received = obj.create_task_handler()
    perform_pending_operations = obj.perform_pending_operations
    flush_pool = getattr(obj.pool, 'flush_callbacks', None)
    heartbeat_error: list[BaseException | None] = [None]
    if getattr(obj.pool, 'is_green', False) and obj.timer is not None:
        heartbeat_error = _enable_amqheartbeats(obj.timer, connection, rate=hbrate)
    consumer.on_message = on_task_received
    consumer.consume()
    obj.on_ready()
    drain_timeout = 0.1 if flush_pool else 2.0
    while blueprint.state == RUN and obj.connection:
        try:
            state.maybe_shutdown()
        except WorkerTerminate:
            _wait_for_soft_shutdown(obj)
            raise
        finally:
            if heartbeat_error[0] is not None:
                raise heartbeat_error[0]
            while qos.prev != qos.value:
                qos.update()
            try:
                perform_pending_operations()
                if flush_pool:
                    flush_pool()
                connection.drain_events(timeout=drain_timeout)
            except socket.timeout:
                pass
            except OSError:
                if blueprint.state == RUN:
                    raise


def _pool_started_ok(pool: BasePool | None) -> bool:
    did_start_ok = getattr(pool, 'did_start_ok', None)
    return did_start_ok() if did_start_ok else True

"""Soft shutdown: before a cold shutdown, give running tasks a last chance to finish.

Runs when :setting:`worker_soft_shutdown_timeout` is set: consuming stops,
jobs no pool process started go back to the broker, and the consumer keeps
serving the connection (so finishing tasks are acknowledged) until nothing
runs or the timeout passes.  The cold shutdown that follows terminates what
is left.
"""
from __future__ import annotations

import socket
from time import monotonic, sleep
from typing import TYPE_CHECKING

from celery.utils.log import get_logger
from celery.worker import state

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kombu.asynchronous import Hub

    from celery.worker.consumer.consumer import Consumer

__all__ = ('running_tasks', 'wait_for_running_tasks')

logger = get_logger(__name__)

#: Longest blocking read while waiting without a hub (seconds).
SYNC_POLL_INTERVAL = 0.1


def running_tasks(consumer: Consumer) -> int:
    """Tasks of this worker that a pool process holds (reserved minus waiting to start)."""
    dispatcher = getattr(consumer.controller, 'dispatcher', None)
    reserved = state.reserved_for(consumer.hostname)
    return len(reserved) - (len(dispatcher.waiting) if dispatcher else 0)


def wait_for_running_tasks(consumer: Consumer, hub: Hub | None = None,
                           loop: Iterator[None] | None = None) -> None:
    """Soft shutdown of ``consumer``'s worker, if configured (see the module docstring)."""
    conf = consumer.app.conf
    timeout = conf.worker_soft_shutdown_timeout
    if not timeout or not (running_tasks(consumer) or
                           conf.worker_enable_soft_shutdown_on_idle):
        return
    logger.warning('Initiating Soft Shutdown, terminating in %s seconds', timeout)
    _stop_taking_tasks(consumer)
    deadline = monotonic() + timeout
    if hub is not None:
        _serve_hub(consumer, hub, loop or hub.create_loop(), timeout, deadline)
    else:
        _serve_blocking(consumer, deadline)
    if running_tasks(consumer):
        logger.warning('Soft shutdown timed out: terminating the tasks still running.')


def _stop_taking_tasks(consumer: Consumer) -> None:
    task_consumer = getattr(consumer, 'task_consumer', None)
    if task_consumer is not None:
        try:
            task_consumer.cancel()
        except consumer.connection_errors + consumer.channel_errors + (OSError,):
            pass
    dispatcher = getattr(consumer.controller, 'dispatcher', None)
    if dispatcher is not None:
        # Only what runs may finish: jobs no process started go back now.
        dispatcher.release()


def _serve_hub(consumer: Consumer, hub: Hub, loop: Iterator[None], timeout: float,
               deadline: float) -> None:
    hub.call_later(timeout, _noop)  # wakes the poller at the deadline
    while running_tasks(consumer) and monotonic() < deadline:
        try:
            next(loop)
        except StopIteration:
            loop = hub.create_loop()


def _serve_blocking(consumer: Consumer, deadline: float) -> None:
    # No hub (solo, threads, green pools): results arrive through the pool's
    # callbacks and the connection's blocking reads, as in the blocking loop.
    flush_pool = getattr(consumer.pool, 'flush_callbacks', None)
    connection = consumer.connection
    while running_tasks(consumer) and monotonic() < deadline:
        consumer.perform_pending_operations()
        if flush_pool:
            flush_pool()
        wait = min(SYNC_POLL_INTERVAL, max(deadline - monotonic(), 0.001))
        if connection is None:
            sleep(wait)  # nothing to serve: only the pool can finish the tasks
            continue
        try:
            connection.drain_events(timeout=wait)
        except socket.timeout:
            pass
        except OSError:
            connection = None  # lost: acks are impossible, the tasks may still finish


def _noop() -> None:
    pass

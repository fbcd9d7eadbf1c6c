"""How the consumer connects to the broker and recovers when the connection is lost.

Connecting retries per ``broker_connection_retry(_on_startup)``; after a loss
the consumer may cancel running ``acks_late`` tasks (their messages come back)
and lowers the prefetch count until the tasks still running finish.
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, cast

from celery import bootsteps
from celery.exceptions import WorkerShutdown, WorkerTerminate
from celery.utils.log import get_logger
from celery.utils.time import humanize_seconds
from celery.worker.consumer.connection import forget_in_children
from celery.worker.state import active_requests, maybe_shutdown

if TYPE_CHECKING:
    from kombu import Connection
    from kombu.asynchronous import Hub

    from celery.app.base import Celery
    from celery.concurrency.base import BasePool
    from celery.worker.consumer.consumer import Consumer

__all__ = (
    'BrokerConnectionHandling', 'CONNECTION_RETRY_STEP', 'CONNECTION_ERROR', 'CONNECTION_RETRY',
    'CONNECTION_FAILOVER', 'COLLECT_SOCKET_TIMEOUT', 'CANCEL_TASKS_BY_DEFAULT',
    'TERMINATING_TASK_ON_RESTART_AFTER_A_CONNECTION_LOSS',
)

# Records keep the name they had before this module was split out of
# celery.worker.consumer.consumer: logging configurations filter on it.
logger = get_logger('celery.worker.consumer.consumer')

#: Blueprint states in which the consumer no longer reconnects.
STOP_CONDITIONS = {bootsteps.CLOSE, bootsteps.TERMINATE}

CONNECTION_RETRY_STEP = 'Trying again {when}... ({retries}/{max_retries})'
CONNECTION_ERROR = 'consumer: Cannot connect to %s: %s.\n%s\n'
CONNECTION_RETRY = 'consumer: Connection to broker lost. Trying to re-establish the connection...'
CONNECTION_FAILOVER = 'Will retry using next failover.'

#: Seconds to wait for the broker sockets of a lost connection to close.
COLLECT_SOCKET_TIMEOUT = 5.0

CANCEL_TASKS_BY_DEFAULT = (
    'In Celery 5.1 we introduced an optional breaking change which on connection '
    'loss cancels all currently executed tasks with late acknowledgement enabled. '
    'Enable worker_cancel_long_running_tasks_on_connection_loss to get this behaviour.')

TERMINATING_TASK_ON_RESTART_AFTER_A_CONNECTION_LOSS = (
    'Task %s cancelled because the connection to the broker was lost: '
    'it will be redelivered to a worker.')


class BrokerConnectionHandling:
    """Consumer methods that connect to the broker and handle a lost connection."""

    app: Celery
    conninfo: Connection
    connection: Connection | None
    hub: Hub | None
    pool: BasePool | None
    blueprint: bootsteps.Blueprint
    amqheartbeat: float
    connection_errors: tuple[type[BaseException], ...]
    channel_errors: tuple[type[BaseException], ...]
    first_connection_attempt: bool
    broker_connection_retry_attempt: int
    initial_prefetch_count: int
    max_prefetch_count: int
    prefetch_multiplier: int
    _maximum_prefetch_restored: bool

    if TYPE_CHECKING:
        # Defined by Consumer.
        def on_close(self) -> None: ...

    def _on_recoverable_error(self, exc: BaseException) -> None:
        on_startup = self.first_connection_attempt
        self.first_connection_attempt = False
        setting = ('broker_connection_retry_on_startup' if on_startup
                   else 'broker_connection_retry')
        if not self.app.conf.get(setting, True):
            logger.critical(
                'Retrying to %s a connection to the message broker is disabled '
                '(app.conf.%s=False). Shutting down...',
                'establish' if on_startup else 're-establish', setting)
            raise WorkerShutdown(1) from exc
        if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
            logger.critical('Too many open files. Aborting...')
            raise WorkerTerminate(1) from exc
        maybe_shutdown()
        if self.blueprint.state in STOP_CONDITIONS:
            return
        if self.connection:
            self.on_connection_error_after_connected(exc)
        else:
            self.on_connection_error_before_connected(exc)
        self._restart_after_loss()

    def _reconnect_after_channel_error(self) -> None:
        # The connection still works, so it is closed for real (collect() would
        # leave it open on the broker, holding its exclusive queues).
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except self.connection_errors + self.channel_errors + (OSError,):
                pass
        maybe_shutdown()
        if self.blueprint.state in STOP_CONDITIONS:
            return
        self._restart_after_loss()

    def _restart_after_loss(self) -> None:
        self.on_close()
        # Consumer is the one class built on this.
        self.blueprint.restart(cast('Consumer', self))

    def on_connection_error_before_connected(self, exc: BaseException) -> None:
        """Log a failed connection attempt; the next one follows."""
        self.broker_connection_retry_attempt += 1
        logger.error('consumer: Cannot connect to %s: %s.', self.conninfo.as_uri(), exc)
        logger.info('Trying to reconnect...')

    def on_connection_error_after_connected(self, exc: BaseException) -> None:
        """Log the loss, cancel long-running acks_late tasks, reduce prefetch."""
        logger.warning(CONNECTION_RETRY, exc_info=True)
        if self.connection is not None:
            try:
                self.connection.collect(socket_timeout=COLLECT_SOCKET_TIMEOUT)
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass
        if self.app.conf.worker_cancel_long_running_tasks_on_connection_loss:
            self.cancel_active_requests()
        if self.app.conf.worker_enable_prefetch_count_reduction:
            active = len(active_requests)
            self.initial_prefetch_count = max(
                self.prefetch_multiplier,
                self.max_prefetch_count - active * self.prefetch_multiplier)
            self._maximum_prefetch_restored = (
                self.initial_prefetch_count == self.max_prefetch_count)
            if not self._maximum_prefetch_restored:
                logger.info('Temporarily reducing the prefetch count to %s while %s '
                            'tasks are still running.', self.initial_prefetch_count, active)

    def cancel_active_requests(self) -> None:
        """Cancel the running acks_late tasks not yet acknowledged: the broker redelivers them."""
        for request in tuple(active_requests):
            if request.task.acks_late and not request.acknowledged:
                logger.warning(TERMINATING_TASK_ON_RESTART_AFTER_A_CONNECTION_LOSS,
                               request.humaninfo())
                request.cancel(self.pool)

    def connect(self) -> Connection:
        """Connect to the broker (with retry) and hook it into the hub."""
        conn = self.connection_for_read(heartbeat=self.amqheartbeat)
        forget_in_children(conn)
        if self.hub:
            conn.transport.register_with_event_loop(conn.connection, self.hub)
        return conn

    def connection_for_read(self, heartbeat: float | None = None) -> Connection:
        """A connected connection for consuming."""
        return self.ensure_connected(self.app.connection_for_read(heartbeat=heartbeat))

    def connection_for_write(self, url: str | None = None,
                             heartbeat: float | None = None) -> Connection:
        """A connected connection for publishing."""
        return self.ensure_connected(self.app.connection_for_write(url=url, heartbeat=heartbeat))

    def ensure_connected(self, conn: Connection) -> Connection:
        """Block until ``conn`` is connected, logging each failed attempt."""
        max_retries = self.app.conf.broker_connection_max_retries

        def _error_handler(exc: BaseException, interval: float) -> None:
            next_step = CONNECTION_RETRY_STEP.format(
                when=humanize_seconds(interval, 'in', ' '), retries=int(interval / 2),
                max_retries=max_retries)
            logger.error(CONNECTION_ERROR, conn.as_uri(), exc, next_step)

        retry = self.app.conf.broker_connection_retry_on_startup \
            if self.first_connection_attempt else self.app.conf.broker_connection_retry
        if retry is None:
            retry = self.app.conf.broker_connection_retry
        if not retry:
            conn.connect()
        else:
            conn.ensure_connection(_error_handler, max_retries, callback=maybe_shutdown)
        self.first_connection_attempt = False
        self.broker_connection_retry_attempt = 0
        return conn

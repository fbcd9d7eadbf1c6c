"""Consumer step: RabbitMQ native delayed delivery for quorum queues."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from celery import bootsteps
from celery.utils.log import get_logger
from celery.worker._parents import consumer_of
from celery.worker.consumer.tasks import Tasks

if TYPE_CHECKING:
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.worker import WorkController

__all__ = ('DelayedDelivery',)

logger = get_logger(__name__)

#: Attempts at declaring the delayed-delivery topology before giving up.
MAX_RETRIES = 3
#: Seconds between those attempts.
RETRY_INTERVAL = 1.0
#: Errors worth another attempt: the broker may be briefly unreachable.
RETRIED_EXCEPTIONS = (ConnectionRefusedError, OSError)
#: Values ``broker_native_delayed_delivery_queue_type`` may take.
VALID_QUEUE_TYPES = {'classic', 'quorum'}


class DelayedDelivery(bootsteps.StartStopStep):
    """Declare the ``celery_delayed_27`` topology when consuming quorum queues."""

    requires = (Tasks,)

    def include_if(self, parent: WorkController | Consumer) -> bool:
        c = consumer_of(self, parent)
        if not c.app.conf.worker_detect_quorum_queues:
            return False
        try:
            from celery.utils.quorum_queues import detect_quorum_queues
        except ImportError:
            return False
        return bool(detect_quorum_queues(c.app, c.conninfo.transport.driver_type)[0])

    def start(self, c: Consumer) -> None:
        queue_type = c.app.conf.get('broker_native_delayed_delivery_queue_type', 'quorum')
        if queue_type not in VALID_QUEUE_TYPES:
            raise ValueError(f'Invalid broker_native_delayed_delivery_queue_type '
                             f'{queue_type!r}: expected one of {sorted(VALID_QUEUE_TYPES)}')
        for attempt in range(1, MAX_RETRIES + 1):
            try:
                return self._declare(c, queue_type)
            except RETRIED_EXCEPTIONS as exc:
                if attempt == MAX_RETRIES:
                    raise
                logger.warning('Declaring the delayed delivery topology failed (%r); '
                               'retrying in %ss (%s/%s)', exc, RETRY_INTERVAL, attempt,
                               MAX_RETRIES)
                time.sleep(RETRY_INTERVAL)
        return None

    def _declare(self, c: Consumer, queue_type: str) -> None:
        from kombu.transport.native_delayed_delivery import (
            bind_queue_to_native_delayed_delivery_exchange,
            declare_native_delayed_delivery_exchanges_and_queues,
        )
        connection = c.connection
        assert connection is not None  # the Connection step (required) connected it
        declare_native_delayed_delivery_exchanges_and_queues(connection, queue_type)
        for queue in c.app.amqp.queues.consume_from.values():
            if queue.exchange.type == 'topic':
                bind_queue_to_native_delayed_delivery_exchange(connection, queue)

    def stop(self, c: Consumer) -> None:
        """Nothing to release: the topology stays on the broker."""

"""Consumer step: RabbitMQ native delayed delivery for quorum queues."""
from __future__ import annotations

from typing import Any

from celery import bootsteps
from celery.utils.log import get_logger
from celery.worker.consumer.tasks import Tasks

__all__ = ('DelayedDelivery',)

logger = get_logger(__name__)


class DelayedDelivery(bootsteps.StartStopStep):
    """Declare the ``celery_delayed_27`` topology when consuming quorum queues."""

    requires = (Tasks,)

    def include_if(self, c: Any) -> bool:
        if not c.app.conf.worker_detect_quorum_queues:
            return False
        try:
            from celery.utils.quorum_queues import detect_quorum_queues
        except ImportError:
            return False
        return bool(detect_quorum_queues(c.app, c.conninfo.transport.driver_type)[0])

    def start(self, c: Any) -> None:
        from kombu.transport.native_delayed_delivery import (
            bind_queue_to_native_delayed_delivery_exchange,
            declare_native_delayed_delivery_exchanges_and_queues,
        )
        queue_type = c.app.conf.get('broker_native_delayed_delivery_queue_type', 'quorum')
        declare_native_delayed_delivery_exchanges_and_queues(c.connection, queue_type)
        for queue in c.app.amqp.queues.consume_from.values():
            if queue.exchange.type == 'topic':
                bind_queue_to_native_delayed_delivery_exchange(c.connection, queue)

    def stop(self, c: Any) -> None:
        """Nothing to release: the topology stays on the broker."""

"""Consumer step: the task consumer and its prefetch (QoS) control."""
from __future__ import annotations

from typing import Any

from kombu.common import QoS

from celery import bootsteps
from celery.utils.log import get_logger
from celery.worker import state
from celery.worker.consumer.mingle import Mingle

__all__ = ('Tasks',)

logger = get_logger(__name__)


class Tasks(bootsteps.StartStopStep):
    """Consume from the selected task queues with prefetch = concurrency x multiplier."""

    requires = (Mingle,)

    batched_acks: Any = None

    def __init__(self, c: Any, **kwargs: Any) -> None:
        c.task_consumer = c.qos = None
        super().__init__(c, **kwargs)

    def start(self, c: Any) -> None:
        c.update_strategies()
        qos_global = self.qos_global(c)
        c.connection.default_channel.basic_qos(0, c.initial_prefetch_count, qos_global)
        c.task_consumer = c.app.amqp.TaskConsumer(c.connection,
                                                  on_decode_error=c.on_decode_error)
        self.batched_acks = None
        if c.hub is not None:
            # The owned AMQP consumer transport's channels can batch acks
            # (celery.transport.pyamqp_consumer); stock ones cannot.
            batch_acks = getattr(c.task_consumer.channel, 'batch_acks', None)
            if batch_acks is not None:
                self.batched_acks = batch_acks(c.hub)

        def set_prefetch_count(prefetch_count: int) -> Any:
            return c.task_consumer.qos(prefetch_count=prefetch_count, apply_global=qos_global)

        c.qos = QoS(set_prefetch_count, c.initial_prefetch_count)
        if getattr(c.controller, 'disable_prefetch', False):
            self.fetch_only_when_free(c)

    def fetch_only_when_free(self, c: Any) -> None:
        """``worker_disable_prefetch``: take a message only when a process can run it.

        The owned Redis transport asks its QoS gate before each fetch.  AMQP
        has no such hook, nor has kombu's stock Redis QoS (fast path
        switched off): there the prefetch of one per process applies.
        """
        set_gate = getattr(getattr(c.task_consumer.channel, 'qos', None), 'set_gate', None)
        if set_gate is None:
            return
        reserved = state.reserved_for(c.hostname)
        controller = c.controller

        def has_free_process() -> bool:
            return len(reserved) < (controller.max_concurrency or c.pool.num_processes or 1)

        set_gate(has_free_process)

    def stop(self, c: Any) -> None:
        """Cancel the task consumer (stop receiving new tasks)."""
        if self.batched_acks is not None:
            # Acks of finished tasks must not be lost with the loop's last turn.
            _ignore_errors(c, self.batched_acks.close)
            self.batched_acks = None
        if c.task_consumer:
            logger.debug('Canceling task consumer...')
            _ignore_errors(c, c.task_consumer.cancel)

    def shutdown(self, c: Any) -> None:
        """Cancel and close the task consumer."""
        if c.task_consumer:
            self.stop(c)
            logger.debug('Closing consumer channel...')
            _ignore_errors(c, c.task_consumer.close)
            c.task_consumer = None

    def info(self, c: Any) -> dict[str, Any]:
        return {'prefetch_count': c.qos.value if c.qos else 'N/A'}

    def qos_global(self, c: Any) -> bool:
        """Whether QoS applies per channel (RabbitMQ >= 3.3 semantics) or per consumer."""
        qos_global = not c.connection.qos_semantics_matches_spec
        if c.app.conf.worker_detect_quorum_queues:
            try:
                from celery.utils.quorum_queues import detect_quorum_queues
            except ImportError:
                return qos_global
            using_quorum, _ = detect_quorum_queues(c.app, c.connection.transport.driver_type)
            if using_quorum:
                logger.info('Global QoS is disabled. Prefetch count is now static.')
                return False
        return qos_global


def _ignore_errors(c: Any, fun: Any) -> None:
    errors = c.connection_errors + c.channel_errors + (OSError,)
    try:
        fun()
    except errors:
        pass  # the connection is already gone

"""Detect RabbitMQ quorum queues (they don't support global QoS)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('detect_quorum_queues',)


def detect_quorum_queues(app: Celery, driver_type: str) -> tuple[bool, str]:
    """Return ``(True, name)`` for the first quorum queue of ``app``, else ``(False, '')``.

    Only the ``amqp`` driver (RabbitMQ) has quorum queues.
    """
    if driver_type != 'amqp':
        return False, ''
    queues = app.amqp.queues
    for name in queues:
        arguments = queues[name].queue_arguments or {}
        if arguments.get('x-queue-type') == 'quorum':
            return True, name
    return False, ''

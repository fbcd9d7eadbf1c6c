"""Publishing helpers for task messages: retry-on-error publish, declares, a fork count."""
from __future__ import annotations

import os
from typing import Any

from kombu import Producer, Queue

from celery.transport.publish_direct import can_publish_direct, publish_direct
from celery.utils.log import get_logger

__all__ = ('forks', 'publish', 'undeclared')

logger = get_logger('celery.app.amqp')

#: ``[n]``: forks of this process so far.  What embeds the pid (the ``origin``
#: header) is made again when it changed; reading it is cheaper than getpid().
forks = [0]
if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=lambda: forks.__setitem__(0, forks[0] + 1))


def publish(producer: Producer, body: object, retry: bool,
            publish_args: dict[str, Any]) -> object:
    """Publish once without kombu's retry wrapper; only on a connection error retry."""
    # kombu builds a retry closure (and updates transport options) for every
    # ``publish(retry=True)``; the first attempt almost always succeeds, so
    # make it plain and hand the retrying over to kombu only when it fails.
    if not retry:
        if can_publish_direct(producer, publish_args):
            return publish_direct(producer, body, publish_args)
        return producer.publish(body, retry=False, **publish_args)
    try:
        if can_publish_direct(producer, publish_args):
            return publish_direct(producer, body, publish_args)
        return producer.publish(body, retry=False, **publish_args)
    except Exception as exc:
        connection = producer.connection
        recoverable = (connection.recoverable_connection_errors
                       + connection.recoverable_channel_errors)
        if not isinstance(exc, recoverable):
            raise
        logger.warning('Publishing failed (%r), retrying per task_publish_retry_policy.', exc)
    return producer.publish(body, retry=True, **publish_args)


def undeclared(producer: Producer, queue: Queue) -> list[Queue] | None:
    """``[queue]`` unless it is already declared on the producer's connection."""
    # kombu would skip it too, but only after wrapping the check in a retry
    # closure; looking first keeps the publish fast path free of that work.
    if queue.can_cache_declaration:
        connection = producer.connection
        if connection is not None and hash(queue) in connection.declared_entities:
            return None
    return [queue]

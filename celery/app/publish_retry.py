"""The publish-retry limits a worker applies to the messages it sends on its own.

Callbacks, errbacks and the next steps of chains are published by the worker
while it handles another task: with an unbounded ``task_publish_retry_policy``
a lost broker would block that worker forever, so they are capped.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('WORKER_PUBLISH_MAX_RETRIES', 'worker_retry_policy')

#: Publish retries a worker allows itself when task_publish_retry_policy sets no limit.
WORKER_PUBLISH_MAX_RETRIES = 3


def worker_retry_policy(app: Celery) -> dict[str, Any] | None:
    """The retry policy override for a message a worker publishes (None: the configured one)."""
    policy = app.conf.task_publish_retry_policy
    if policy and 'max_retries' in policy and policy['max_retries'] is None:
        return {'max_retries': WORKER_PUBLISH_MAX_RETRIES}
    return None

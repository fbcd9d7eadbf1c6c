"""The worker's hook for task outcomes, as the main process sees them."""
from __future__ import annotations

from celery.utils.dispatch import Signal

__all__ = ('request_event',)

#: Sent in the worker's main process for every task event a request reports
#: (``task-started``, ``task-succeeded``, ``task-failed``, ``task-retried``,
#: ``task-rejected``, ``task-revoked``), whether or not task events are enabled.
#: With prefork the task signals fire in the pool children; this one does not.
request_event = Signal(name='request_event', providing_args={'request', 'type', 'fields'})

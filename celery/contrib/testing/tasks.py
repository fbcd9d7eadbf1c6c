"""Tasks every test app has: ``celery.ping``, used to check an embedded worker."""
from __future__ import annotations

from celery import shared_task

__all__ = ('ping',)


@shared_task(name='celery.ping')
def ping() -> str:
    """Answer ``'pong'``: proves a worker consumes and stores results."""
    return 'pong'

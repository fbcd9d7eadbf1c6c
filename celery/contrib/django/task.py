"""Task base class for Django projects: send tasks after the transaction commits."""
from __future__ import annotations

import functools
from typing import Any

from celery.app.task import Task

__all__ = ('DjangoTask',)


class DjangoTask(Task):
    """Task with ``delay_on_commit`` and ``apply_async_on_commit``."""

    abstract = True

    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:
        """Call :meth:`delay` once the current database transaction commits."""
        from django.db import transaction
        transaction.on_commit(functools.partial(self.delay, *args, **kwargs))

    def apply_async_on_commit(self, *args: Any, **kwargs: Any) -> None:
        """Call :meth:`apply_async` once the current database transaction commits."""
        from django.db import transaction
        transaction.on_commit(functools.partial(self.apply_async, *args, **kwargs))

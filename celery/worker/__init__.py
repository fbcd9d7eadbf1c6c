"""The worker engine (``WorkController``), imported lazily."""
from __future__ import annotations

from typing import Any

__all__ = ('WorkController',)


def __getattr__(name: str) -> Any:
    if name == 'WorkController':
        from celery.worker.worker import WorkController
        return WorkController
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

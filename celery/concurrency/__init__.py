"""Execution pools: pick one by name (``-P``/``worker_pool``)."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery.concurrency.base import BasePool

__all__ = ('ALIASES', 'get_available_pool_names', 'get_implementation', 'set_default_pool')

#: Pool name -> ``'module:Class'``.
ALIASES = {
    'prefork': 'celery.concurrency.prefork:TaskPool',
    'processes': 'celery.concurrency.prefork:TaskPool',  # alias kept from Celery 3
    'eventlet': 'celery.concurrency.eventlet:TaskPool',
    'gevent': 'celery.concurrency.gevent:TaskPool',
    'solo': 'celery.concurrency.solo:TaskPool',
    'threads': 'celery.concurrency.thread:TaskPool',
}

#: ``'module:Class'`` of the pool named ``custom``, from the
#: ``CELERY_CUSTOM_WORKER_POOL`` environment variable (``None`` when unset).
custom = os.environ.get('CELERY_CUSTOM_WORKER_POOL') or None
if custom:
    ALIASES['custom'] = custom

#: Pool used when none is configured; ``maybe_patch_concurrency`` sets it.
DEFAULT_POOL = 'prefork'


def get_implementation(cls: str | type[BasePool]) -> type[BasePool]:
    """Return the pool class for a name in :data:`ALIASES`, a ``'module:Class'`` path or a class."""
    if not isinstance(cls, str):
        return cls
    from kombu.utils.imports import symbol_by_name

    from celery.exceptions import ImproperlyConfigured
    if cls not in ALIASES and ':' not in cls and '.' not in cls:
        choices = ', '.join(get_available_pool_names())
        raise ImproperlyConfigured(f'Unknown pool {cls!r}: choose one of {choices}')
    try:
        pool_cls: type[BasePool] = symbol_by_name(cls, ALIASES)
        return pool_cls
    except (ImportError, AttributeError, ValueError) as exc:
        raise ImproperlyConfigured(f'Cannot load pool {cls!r}: {exc}') from exc


def get_available_pool_names() -> tuple[str, ...]:
    """Return every pool name accepted by ``-P``."""
    return tuple(ALIASES)


def set_default_pool(name: str) -> None:
    """Make ``name`` the pool used when none is configured."""
    global DEFAULT_POOL
    get_implementation(name)
    DEFAULT_POOL = name

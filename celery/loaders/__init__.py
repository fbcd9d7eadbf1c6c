"""Loaders: how an app finds its configuration and task modules."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery.loaders.base import BaseLoader

__all__ = ('LOADER_ALIASES', 'get_loader_cls')

#: Short names accepted by ``Celery(loader=...)``, ``--loader`` and ``CELERY_LOADER``.
LOADER_ALIASES = {
    'app': 'celery.loaders.app:AppLoader',
    'default': 'celery.loaders.default:Loader',
}


def get_loader_cls(loader: str | type[BaseLoader]) -> type[BaseLoader]:
    """Return the loader class named by ``loader`` (an alias, a path, or a class)."""
    if not isinstance(loader, str):
        return loader
    from celery.utils.imports import import_from_cwd, symbol_by_name
    loader_cls: type[BaseLoader] = symbol_by_name(loader, LOADER_ALIASES, imp=import_from_cwd)
    return loader_cls

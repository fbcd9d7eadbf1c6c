"""The loader used when an app is created with :class:`~celery.Celery`."""
from __future__ import annotations

from celery.loaders.base import BaseLoader

__all__ = ('AppLoader',)


class AppLoader(BaseLoader):
    """Default loader: configuration comes from the app (``config_from_object``)."""

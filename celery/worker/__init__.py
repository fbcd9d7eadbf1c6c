"""The worker engine (``WorkController``), imported lazily."""
from __future__ import annotations

from celery.utils.lazy_names import lazy_module_getattr

__all__ = ('WorkController',)


__getattr__ = lazy_module_getattr(__name__, {'WorkController': 'celery.worker.worker'}, globals())

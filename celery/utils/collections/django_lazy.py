"""Django's lazy settings objects, recognised by :func:`force_mapping` without importing Django."""
from __future__ import annotations

import sys

__all__ = ('LazyObject', 'django_lazy_types', 'unwrap_lazy')


class LazyObject:
    """Stands in for ``django.utils.functional.LazyObject`` when Django is not installed."""


def django_lazy_types() -> tuple[type, ...]:
    """Return Django's ``LazyObject`` and ``LazySettings`` classes, importing Django if installed."""
    try:
        from django.conf import LazySettings
        from django.utils.functional import LazyObject as DjangoLazyObject
    except ImportError:
        return (LazyObject, LazyObject)
    return (DjangoLazyObject, LazySettings)


def unwrap_lazy(obj: object) -> object:
    """Return the object a Django lazy object wraps (evaluating it), else ``obj`` itself."""
    # Nothing can be a Django lazy object before Django was imported.
    if 'django' not in sys.modules:
        return obj
    lazy_object, lazy_settings = django_lazy_types()
    if not isinstance(obj, (lazy_object, lazy_settings)):
        return obj
    dir(obj)  # any use makes Django set the wrapped object up
    # Django keeps the evaluated object in the instance's own ``_wrapped``.
    wrapped: object = object.__getattribute__(obj, '_wrapped')
    return wrapped

"""Mapping and set types used by the configuration, the worker and events."""
from __future__ import annotations

from celery.utils.collections.buffers import (
    BufferMap,
    Evictable,
    LRUCache,
    Messagebuffer,
)
from celery.utils.collections.limitedset import REPR_LIMITED_SET, LimitedSet
from celery.utils.collections.mappings import (
    AttributeDict,
    AttributeDictMixin,
    ChainMap,
    ConfigurationView,
    DictAttribute,
    OrderedDict,
    force_mapping,
    lpmerge,
)

__all__ = (
    'AttributeDict',
    'AttributeDictMixin',
    'BufferMap',
    'ChainMap',
    'ConfigurationView',
    'DictAttribute',
    'Evictable',
    'LRUCache',
    'LimitedSet',
    'Messagebuffer',
    'OrderedDict',
    'force_mapping',
    'lpmerge',
)


def __getattr__(name: str) -> type:
    # Django's lazy classes (or a placeholder without Django), resolved on
    # first use so that importing this package never imports Django.
    if name in ('LazyObject', 'LazySettings'):
        from celery.utils.collections.django_lazy import django_lazy_types
        lazy_object, lazy_settings = django_lazy_types()
        return lazy_object if name == 'LazyObject' else lazy_settings
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

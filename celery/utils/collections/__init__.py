"""Mapping and set types used by the configuration, the worker and events."""
from __future__ import annotations

from celery.utils.collections.buffers import (
    BufferMap,
    Evictable,
    LRUCache,
    Messagebuffer,
)
from celery.utils.collections.limitedset import LimitedSet
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

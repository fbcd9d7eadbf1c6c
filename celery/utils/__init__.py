"""Utility functions used all over Celery.

Kept cheap to import: nothing here loads kombu, billiard or click.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from uuid import UUID, uuid4

from celery.utils.functional import (
    chunks,
    fun_takes_argument,
    is_iterable,
    maybe_list,
    memoize,
    noop,
)
from celery.utils.imports import (
    gen_task_name,
    import_from_cwd,
    instantiate,
    qualname,
    symbol_by_name,
)
from celery.utils.lazy_names import lazy_module_getattr
from celery.utils.nodenames import nodename, nodesplit, worker_direct

__all__ = (
    'cached_property',
    'chunks',
    'fun_takes_argument',
    'gen_task_name',
    'gen_unique_id',
    'get_cls_by_name',
    'get_full_cls_name',
    'import_from_cwd',
    'instantiate',
    'is_iterable',
    'maybe_list',
    'memoize',
    'nodename',
    'nodesplit',
    'noop',
    'symbol_by_name',
    'uuid',
    'worker_direct',
)


def uuid(_uuid: Callable[[], UUID] = uuid4) -> str:
    """Return a new random UUID as a string (the format of task ids)."""
    if _uuid is not uuid4:
        return str(_uuid())
    # Every task sent makes one: formatting 16 random bytes directly is 2x
    # cheaper than building a UUID object.  The same bits as ``uuid4()``:
    # version nibble 4, variant bits 10.
    text = os.urandom(16).hex()
    return (f'{text[:8]}-{text[8:12]}-4{text[13:16]}-'
            f'{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}')


#: Hex digit of byte 8's high nibble -> the same nibble with the RFC 4122 variant bits (10xx).
_VARIANT = {digit: '89ab'[int(digit, 16) & 3] for digit in '0123456789abcdef'}


gen_unique_id = uuid
get_cls_by_name = symbol_by_name
get_full_cls_name = qualname


# The logging helpers load on first use: ``import celery`` stays light.
__getattr__ = lazy_module_getattr(__name__, {'LOG_LEVELS': 'celery.utils.log'}, globals())

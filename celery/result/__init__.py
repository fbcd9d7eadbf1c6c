"""Task result handles: :class:`AsyncResult`, :class:`ResultSet`, :class:`GroupResult`.

Every class reports ``celery.result`` as its module so pickles made here and
by other Celery installations name the same path.
"""
from __future__ import annotations

from celery.result.async_result import AsyncResult, ResultBase, result_from_tuple
from celery.result.eager import EagerResult
from celery.result.guards import (
    allow_join_result,
    assert_will_not_block,
    denied_join_result,
)
from celery.result.result_set import GroupResult, ResultSet

__all__ = (
    'ResultBase', 'AsyncResult', 'ResultSet', 'GroupResult', 'EagerResult',
    'result_from_tuple', 'allow_join_result', 'denied_join_result', 'assert_will_not_block',
)

for _cls in (ResultBase, AsyncResult, ResultSet, GroupResult, EagerResult):
    _cls.__module__ = __name__
del _cls

"""Task result handles: :class:`AsyncResult`, :class:`ResultSet`, :class:`GroupResult`.

Every class reports ``celery.result`` as its module so pickles made here and
by other Celery installations name the same path.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

from celery._state import current_app  # noqa: F401 -- importable from here, as in Celery
from celery.result.async_result import AsyncResult, ResultBase, result_from_tuple
from celery.result.eager import EagerResult
from celery.result.guards import (  # noqa: F401 -- E_WOULDBLOCK: Celery's module name
    E_WOULDBLOCK,
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


def __getattr__(name: str) -> ModuleType | None:
    # ``tblib`` (None when not installed) is looked up only when asked for.
    if name == 'tblib':
        from celery.result.remote_traceback import import_tblib
        return import_tblib()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

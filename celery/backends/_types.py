"""Types of the result backend interface: stored meta and the request it is stored for.

For type checkers only: modules import these under ``TYPE_CHECKING``, so
nothing here is loaded when celery runs.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

if TYPE_CHECKING:
    from collections.abc import Callable

    from celery.app.task import Context
    from celery.backends.base import Backend

__all__ = ('BackendReduce', 'BackendRequest', 'Expires', 'GroupMeta', 'Payload', 'TaskMeta')

#: What backends get as ``request``: the task's :class:`~celery.app.task.Context`.
BackendRequest: TypeAlias = 'Context'

#: Serialized (and maybe compressed) meta as a backend stores it.
Payload: TypeAlias = 'str | bytes'

#: What ``Backend.__reduce__`` returns: :func:`~celery.backends.base.unpickle_backend`
#: and its ``(class, args, kwargs)``.
BackendReduce: TypeAlias = (
    'tuple[Callable[..., Backend], tuple[type[Backend], tuple[Any, ...], dict[str, Any]]]')

#: A result expiry: seconds, a :class:`~datetime.timedelta` or ``None`` (never).
Expires: TypeAlias = 'float | timedelta | None'


class TaskMeta(TypedDict, total=False):
    """The meta of a task result, as stored and as :meth:`Backend.get_task_meta` returns it.

    ``status`` is always there; ``result_extended`` adds ``name`` to
    ``queue``, and stamped tasks add one key per stamp header.
    """

    status: str
    #: The return value, the exception (or its dict form) or the state's meta.
    result: Any
    traceback: str | None
    #: Result tuples of the subtasks the task started.
    children: list[Any]
    #: ISO-8601 string when stored, a datetime in some backends.
    date_done: str | datetime | None
    task_id: str
    group_id: str
    parent_id: str
    # result_extended fields:
    name: str | None
    args: Any
    kwargs: Any
    worker: str | None
    retries: int | None
    queue: str | None
    stamped_headers: list[str]


class GroupMeta(TypedDict):
    """The meta of a stored group (``result`` is the GroupResult)."""

    result: Any
    date_done: str | datetime | None

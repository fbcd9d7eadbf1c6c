"""Types of the result backend interface: stored payloads, expiries and the request.

For type checkers only: modules import these under ``TYPE_CHECKING``, so
nothing here is loaded when celery runs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta

    from celery.app.task import Context
    from celery.backends.base import Backend

__all__ = ('BackendReduce', 'BackendRequest', 'Expires', 'Payload')

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


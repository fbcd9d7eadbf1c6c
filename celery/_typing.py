"""Type variables shared by the generic task, signature and result classes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ('P', 'R', 'R_co')

if TYPE_CHECKING:
    # PEP 696 defaults, so that a bare ``AsyncResult`` or ``Task`` means
    # "any result": typing_extensions comes with every type checker, but is
    # not a run-time dependency.
    from typing_extensions import ParamSpec, TypeVar

    #: The parameters of a task's function (``Task[P, R]``).
    P = ParamSpec('P', default=...)
    #: What a task's function returns.
    R = TypeVar('R', default=Any)
    #: A result's value: read-only, so an ``AsyncResult[int]`` is an ``AsyncResult[object]``.
    R_co = TypeVar('R_co', covariant=True, default=Any)
else:
    from typing import ParamSpec, TypeVar

    P = ParamSpec('P')
    R = TypeVar('R')
    R_co = TypeVar('R_co', covariant=True)

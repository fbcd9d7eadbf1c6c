"""Helpers for inspecting type annotations (used for typed task arguments)."""
from __future__ import annotations

import types
import typing
from typing import TypeGuard, TypeVar

_C = TypeVar('_C')

__all__ = ('annotation_is_class', 'annotation_issubclass', 'get_optional_arg', 'is_none_type')


def is_none_type(value: object) -> bool:
    """Return True if ``value`` is the type of None."""
    return value is types.NoneType


def get_optional_arg(annotation: object) -> object:
    """Return ``X`` for ``Optional[X]`` / ``X | None``, else None."""
    origin = typing.get_origin(annotation)
    if origin is not typing.Union and origin is not types.UnionType:
        return None
    args = typing.get_args(annotation)
    if len(args) != 2:
        return None
    for arg in args:
        if not is_none_type(arg):
            return arg
    return None


def annotation_is_class(annotation: object) -> TypeGuard[type]:
    """Return True if ``annotation`` is a plain class (not a generic alias like ``list[int]``)."""
    if isinstance(annotation, types.GenericAlias):
        return False
    return isinstance(annotation, type)


def annotation_issubclass(annotation: object, cls: type[_C]) -> TypeGuard[type[_C]]:
    """Return True if ``annotation`` is a class and a subclass of ``cls``."""
    return annotation_is_class(annotation) and issubclass(annotation, cls)

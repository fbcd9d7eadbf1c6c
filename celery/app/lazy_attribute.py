"""A class attribute whose value is imported on first use (keeps module imports light)."""
from __future__ import annotations

import importlib
from typing import Generic, TypeVar

_T = TypeVar('_T')

__all__ = ('imported_attribute',)


class imported_attribute(Generic[_T]):
    """Class attribute set to ``module.name``, imported the first time it is read.

    The first read replaces the descriptor with the value itself, so later
    reads cost nothing and the class holds the real object.  The type of
    the value is declared by the owner: ``X: imported_attribute[type[Y]]``.
    """

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        self.attribute = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.owner = owner
        self.attribute = attribute

    def __get__(self, obj: object, objtype: type | None = None) -> _T:
        value: _T = getattr(importlib.import_module(self.module), self.name)
        setattr(self.owner, self.attribute, value)
        return value

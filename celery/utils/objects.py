"""Object helpers: attribute bags, MRO lookup, fallback contexts."""
from __future__ import annotations

from collections.abc import Callable, MutableMapping
from contextlib import AbstractContextManager
from functools import reduce
from typing import Any, Generic, TypeVar

__all__ = ('Bunch', 'FallbackContext', 'getitem_property', 'mro_lookup')

T = TypeVar('T')

#: What :class:`getitem_property` reads: nested mappings.
_Nested = MutableMapping[str, Any]


class Bunch:
    """Object whose attributes are the keyword arguments it was created with."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


def mro_lookup(cls: type, attr: str, stop: set[type] | None = None,
               monkey_patched: list[str] | None = None) -> type | None:
    """Return the first class in ``cls``'s MRO that defines ``attr``.

    Lookup ends at any class in ``stop``; such a class is only returned when
    its ``attr`` was added by a module in ``monkey_patched``.
    """
    stop = stop or set()
    monkey_patched = monkey_patched or []
    for node in cls.mro():
        if node in stop:
            try:
                module_origin = node.__dict__[attr].__module__
            except (AttributeError, KeyError):
                return None
            return node if module_origin in monkey_patched else None
        if attr in node.__dict__:
            return node
    return None


class FallbackContext(Generic[T]):
    """Context that yields ``provided`` or, when it is None, enters ``fallback(...)``.

    ``with FallbackContext(connection, app.connection_or_acquire) as conn:``
    """

    def __init__(self, provided: T | None, fallback: Callable[..., AbstractContextManager[T]],
                 *fb_args: Any, **fb_kwargs: Any) -> None:
        self.provided = provided
        self.fallback = fallback
        self.fb_args = fb_args
        self.fb_kwargs = fb_kwargs
        self._context: AbstractContextManager[T] | None = None

    def __enter__(self) -> T:
        if self.provided is not None:
            return self.provided
        self._context = self.fallback(*self.fb_args, **self.fb_kwargs)
        return self._context.__enter__()

    def __exit__(self, *exc_info: Any) -> bool | None:
        if self._context is not None:
            return self._context.__exit__(*exc_info)
        return None


class getitem_property:
    """Attribute that reads and writes a key (a dotted path) of the instance.

    ``meta = getitem_property('headers.meta')`` reads ``obj['headers']['meta']``.
    """

    def __init__(self, keypath: str, doc: str | None = None) -> None:
        path, _, self.key = keypath.rpartition('.')
        self.path = path.split('.') if path else None
        self.__doc__ = doc

    def _path(self, obj: _Nested) -> _Nested:
        if not self.path:
            return obj
        mapping: _Nested = reduce(lambda d, key: d[key], self.path, obj)
        return mapping

    def __get__(self, obj: _Nested | None, type: type | None = None) -> object:
        if obj is None:
            return type
        return self._path(obj).get(self.key)

    def __set__(self, obj: _Nested, value: object) -> None:
        self._path(obj)[self.key] = value

"""Lazy proxy objects.

A :class:`Proxy` forwards every operation to the object returned by a
factory, evaluated on each access; a :class:`PromiseProxy` evaluates the
factory once and then behaves as the object.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

__all__ = ('Proxy', 'PromiseProxy', 'try_import', 'maybe_evaluate')


def _default_cls_attr(name: str, type_: type, cls_value: Any) -> Any:
    # Proxy uses properties to forward the standard class attributes
    # __module__ and __doc__ to the real object, but these need to be
    # strings when accessed from the Proxy class itself.
    def __new__(cls: type, getter: Callable[..., Any]) -> Any:
        instance = type_.__new__(cls, cls_value)
        instance.__getter = getter
        return instance

    def __get__(self: Any, obj: Any, cls: type | None = None) -> Any:
        return self.__getter(obj) if obj is not None else self

    return type(name, (type_,), {'__new__': __new__, '__get__': __get__})


def try_import(module: str, default: Any = None) -> Any:
    """Try to import and return module, or return ``default`` if it's missing."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        return default


class Proxy:
    """Proxy to another object, looked up through a factory on every access."""

    __slots__ = ('__local', '__args', '__kwargs', '__dict__')

    def __init__(self, local: Callable[..., Any], args: tuple | None = None,
                 kwargs: dict | None = None, name: str | None = None,
                 __doc__: str | None = None) -> None:
        object.__setattr__(self, '_Proxy__local', local)
        object.__setattr__(self, '_Proxy__args', args or ())
        object.__setattr__(self, '_Proxy__kwargs', kwargs or {})
        if name is not None:
            object.__setattr__(self, '__custom_name__', name)
        if __doc__ is not None:
            object.__setattr__(self, '__doc__', __doc__)

    @_default_cls_attr('name', str, __name__)
    def __name__(self) -> str:
        try:
            return self.__custom_name__
        except AttributeError:
            return self._get_current_object().__name__

    @_default_cls_attr('qualname', str, __name__)
    def __qualname__(self) -> str:
        try:
            return self.__custom_name__
        except AttributeError:
            return self._get_current_object().__qualname__

    @_default_cls_attr('module', str, __module__)
    def __module__(self) -> str:
        return self._get_current_object().__module__

    @_default_cls_attr('doc', str, __doc__)
    def __doc__(self) -> str | None:
        return self._get_current_object().__doc__

    def _get_class(self) -> type:
        return self._get_current_object().__class__

    @property
    def __class__(self) -> type:  # type: ignore[override]
        return self._get_class()

    def _get_current_object(self) -> Any:
        """Return the real object behind the proxy."""
        loc = object.__getattribute__(self, '_Proxy__local')
        return loc(*self.__args, **self.__kwargs)

    @property
    def __dict__(self) -> dict:  # type: ignore[override]
        try:
            return self._get_current_object().__dict__
        except RuntimeError:  # pragma: no cover
            raise AttributeError('__dict__') from None

    def __repr__(self) -> str:
        try:
            obj = self._get_current_object()
        except RuntimeError:  # pragma: no cover
            return f'<{self.__class__.__name__} unbound>'
        return repr(obj)

    def __bool__(self) -> bool:
        try:
            return bool(self._get_current_object())
        except RuntimeError:  # pragma: no cover
            return False

    def __dir__(self) -> list[str]:
        try:
            return dir(self._get_current_object())
        except RuntimeError:  # pragma: no cover
            return []

    def __getattr__(self, name: str) -> Any:
        if name == '__members__':
            return dir(self._get_current_object())
        return getattr(self._get_current_object(), name)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._get_current_object()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._get_current_object()[key]

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get_current_object(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._get_current_object(), name)

    def __str__(self) -> str:
        return str(self._get_current_object())

    def __lt__(self, other: Any) -> bool:
        return self._get_current_object() < other

    def __le__(self, other: Any) -> bool:
        return self._get_current_object() <= other

    def __eq__(self, other: Any) -> bool:
        return self._get_current_object() == other

    def __ne__(self, other: Any) -> bool:
        return self._get_current_object() != other

    def __gt__(self, other: Any) -> bool:
        return self._get_current_object() > other

    def __ge__(self, other: Any) -> bool:
        return self._get_current_object() >= other

    def __hash__(self) -> int:
        return hash(self._get_current_object())

    def __call__(self, *a: Any, **kw: Any) -> Any:
        return self._get_current_object()(*a, **kw)

    def __len__(self) -> int:
        return len(self._get_current_object())

    def __getitem__(self, i: Any) -> Any:
        return self._get_current_object()[i]

    def __iter__(self) -> Any:
        return iter(self._get_current_object())

    def __contains__(self, i: Any) -> bool:
        return i in self._get_current_object()

    def __add__(self, other: Any) -> Any:
        return self._get_current_object() + other

    def __sub__(self, other: Any) -> Any:
        return self._get_current_object() - other

    def __mul__(self, other: Any) -> Any:
        return self._get_current_object() * other

    def __truediv__(self, other: Any) -> Any:
        return operator.truediv(self._get_current_object(), other)

    def __mod__(self, other: Any) -> Any:
        return self._get_current_object() % other

    def __or__(self, other: Any) -> Any:
        return self._get_current_object() | other

    def __and__(self, other: Any) -> Any:
        return self._get_current_object() & other

    def __invert__(self) -> Any:
        return ~(self._get_current_object())

    def __neg__(self) -> Any:
        return -(self._get_current_object())

    def __enter__(self) -> Any:
        return self._get_current_object().__enter__()

    def __exit__(self, *a: Any, **kw: Any) -> Any:
        return self._get_current_object().__exit__(*a, **kw)

    def __reduce__(self) -> Any:
        return self._get_current_object().__reduce__()


class PromiseProxy(Proxy):
    """Proxy that evaluates its factory once, at first use.

    The first access evaluates the object and caches it; after that the
    proxy forwards to the cached object.  Callbacks registered with
    ``__then__`` run when it is evaluated.
    """

    __slots__ = ('__pending__', '__weakref__')

    def _get_current_object(self) -> Any:
        try:
            return object.__getattribute__(self, '__thing')
        except AttributeError:
            return self.__evaluate__()

    def __then__(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call ``fun(*args, **kwargs)`` once the object is evaluated."""
        if self.__evaluated__():
            fun(*args, **kwargs)
            return
        from collections import deque
        try:
            pending = object.__getattribute__(self, '__pending__')
        except AttributeError:
            pending = None
        if pending is None:
            pending = deque()
            object.__setattr__(self, '__pending__', pending)
        pending.append((fun, args, kwargs))

    def __evaluated__(self) -> bool:
        """Return True if the object behind the proxy has been evaluated."""
        try:
            object.__getattribute__(self, '__thing')
        except AttributeError:
            return False
        return True

    def __maybe_evaluate__(self) -> Any:
        return self._get_current_object()

    def __evaluate__(self, _clean: tuple[str, ...] = ('_Proxy__local', '_Proxy__args',
                                                     '_Proxy__kwargs')) -> Any:
        thing = Proxy._get_current_object(self)
        object.__setattr__(self, '__thing', thing)
        for attr in _clean:
            try:
                object.__delattr__(self, attr)
            except AttributeError:  # pragma: no cover
                pass
        try:
            pending = object.__getattribute__(self, '__pending__')
        except AttributeError:
            pass
        else:
            try:
                while pending:
                    fun, args, kwargs = pending.popleft()
                    fun(*args, **kwargs)
            finally:
                try:
                    object.__delattr__(self, '__pending__')
                except AttributeError:  # pragma: no cover
                    pass
        return thing


def maybe_evaluate(obj: Any) -> Any:
    """Attempt to evaluate promise, even if obj is not a promise."""
    try:
        return obj.__maybe_evaluate__()
    except AttributeError:
        return obj

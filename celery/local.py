"""Lazy proxy objects, class properties, and lazily built modules.

A :class:`Proxy` forwards every operation to the object returned by a
factory, evaluated on each access; a :class:`PromiseProxy` evaluates the
factory once and then behaves as the object.  The lazy-module machinery
that keeps old import paths alive lives in :mod:`celery.compat_modules`
and is importable from here too.
"""
from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable
from typing import Any

from celery.compat_modules import (  # noqa: F401 - part of this module's API
    COMPAT_MODULES,
    DEFAULT_ATTRS,
    DEPRECATED_ATTRS,
    MODULE_DEPRECATED,
    LazyModule,
    create_module,
    get_compat_module,
    get_origins,
    getappattr,
    recreate_module,
)

__all__ = ('Proxy', 'PromiseProxy', 'try_import', 'maybe_evaluate')


def _default_cls_attr(name: str, type_: type, cls_value: Any) -> Any:
    """Make a decorator type: ``cls_value`` when read on the class, ``getter(proxy)`` on one."""
    # Python and tools (inspect, pydoc, pickle) need Proxy.__name__, __module__ and
    # __doc__ to be plain strings, while on an instance they should describe the target.
    # Being a ``type_`` (str) subclass satisfies the former, ``__get__`` the latter.
    class ClassValueOrGetter(type_):  # type: ignore[valid-type,misc]
        def __new__(cls, getter: Callable[[Any], Any]) -> Any:
            value = super().__new__(cls, cls_value)
            value._getter = getter
            return value

        def __get__(self, obj: Any, cls: type | None = None) -> Any:
            return self if obj is None else self._getter(obj)

    ClassValueOrGetter.__name__ = ClassValueOrGetter.__qualname__ = name
    return ClassValueOrGetter


def try_import(module: str, default: Any = None) -> Any:
    """Import ``module`` by name; ``default`` when it cannot be imported."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        return default


class Proxy:
    """Stands in for the object its factory returns, calling the factory on every use."""

    __slots__ = ('__local', '__args', '__kwargs', '__dict__')

    def __init__(self, local: Callable[..., Any], args: tuple | None = None,
                 kwargs: dict | None = None, name: str | None = None,
                 __doc__: str | None = None) -> None:
        _set_own(self, '_Proxy__local', local)
        _set_own(self, '_Proxy__args', args or ())
        _set_own(self, '_Proxy__kwargs', kwargs or {})
        # Stored only when given, so that otherwise the target's own are reported.
        for attr, value in (('__custom_name__', name), ('__doc__', __doc__)):
            if value is not None:
                _set_own(self, attr, value)

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
        """Call ``fun(*args, **kwargs)`` once the object is evaluated (at once if it is)."""
        if self.__evaluated__():
            fun(*args, **kwargs)
        else:
            _pending_callbacks(self).append((fun, args, kwargs))

    def __evaluated__(self) -> bool:
        """Return True if the object behind the proxy has been evaluated."""
        return _get_own(self, '__thing', _NOT_EVALUATED) is not _NOT_EVALUATED

    def __maybe_evaluate__(self) -> Any:
        return self._get_current_object()

    def __evaluate__(self, _clean: tuple[str, ...] = ('_Proxy__local', '_Proxy__args',
                                                     '_Proxy__kwargs')) -> Any:
        """Create the object now, forget the factory and run the pending callbacks."""
        thing = Proxy._get_current_object(self)
        _set_own(self, '__thing', thing)
        # The factory and its arguments are never needed again: let them be collected.
        for attr in _clean:
            _del_own(self, attr)
        _run_pending_callbacks(self)
        return thing


# The helpers below are module functions rather than methods: every name
# defined on a proxy class hides the target's attribute of that name.

_NOT_EVALUATED = object()


def _set_own(proxy: Proxy, attr: str, value: Any) -> None:
    # object.__setattr__: the proxy's own __setattr__ would write to the target.
    object.__setattr__(proxy, attr, value)


def _get_own(proxy: Proxy, attr: str, default: Any = None) -> Any:
    try:
        return object.__getattribute__(proxy, attr)
    except AttributeError:
        return default


def _del_own(proxy: Proxy, attr: str) -> None:
    try:
        object.__delattr__(proxy, attr)
    except AttributeError:  # pragma: no cover
        pass


def _pending_callbacks(proxy: PromiseProxy) -> deque:
    """The ``__then__`` callbacks waiting for ``proxy`` to be evaluated (created on demand)."""
    pending = _get_own(proxy, '__pending__')
    if pending is None:
        pending = deque()
        _set_own(proxy, '__pending__', pending)
    return pending


def _run_pending_callbacks(proxy: PromiseProxy) -> None:
    """Run the waiting callbacks in the order they were added, then drop the queue."""
    pending = _get_own(proxy, '__pending__')
    if pending is None:
        return
    try:
        while pending:
            fun, args, kwargs = pending.popleft()
            fun(*args, **kwargs)
    finally:
        # Also when a callback fails: the ones after it are discarded, not retried.
        _del_own(proxy, '__pending__')


def maybe_evaluate(obj: Any) -> Any:
    """The object behind ``obj`` if it is a promise proxy, else ``obj`` itself."""
    try:
        return obj.__maybe_evaluate__()
    except AttributeError:
        return obj


def fun_of_method(method: Any) -> Callable[..., Any]:
    """Return the plain function behind a (bound, class or static) method."""
    return getattr(method, '__func__', method)


def reclassmethod(method: Any) -> classmethod:
    """Return ``method``'s function as a :func:`classmethod` (e.g. to reuse a base class's one)."""
    return classmethod(fun_of_method(method))


class class_property:
    """A property read on the class as well as on instances: ``getter(cls)``.

    ``setter(obj, value)``, when given (or added with :meth:`setter`), runs
    on assignment to an instance's attribute.
    """

    def __init__(self, getter: Callable[[Any], Any] | None = None,
                 setter: Callable[[Any, Any], Any] | None = None) -> None:
        self.getter = fun_of_method(getter) if getter is not None else None
        self.fset = fun_of_method(setter) if setter is not None else None
        self.__doc__ = getattr(self.getter, '__doc__', None)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if self.getter is None:
            raise AttributeError('unreadable class property')
        return self.getter(cls if cls is not None else type(obj))

    def __set__(self, obj: Any, value: Any) -> None:
        if self.fset is None:
            raise AttributeError("can't set class property")
        self.fset(obj, value)

    def setter(self, setter: Callable[[Any, Any], Any]) -> class_property:
        """Return a copy of this property that assigns through ``setter``."""
        return type(self)(self.getter, setter)

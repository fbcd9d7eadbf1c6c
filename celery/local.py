"""Lazy proxy objects, class properties, and lazily built modules.

A :class:`Proxy` forwards every operation to the object returned by a
factory, evaluated on each access; a :class:`PromiseProxy` evaluates the
factory once and then behaves as the object.  The lazy-module machinery
that keeps old import paths alive lives in :mod:`celery.compat_modules`
and is importable from here too.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload, runtime_checkable

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

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ('Proxy', 'PromiseProxy', 'try_import', 'maybe_evaluate')

T = TypeVar('T')
R = TypeVar('R')
T_co = TypeVar('T_co', covariant=True)
_Getter = Callable[['Proxy[Any]'], 'str | None']


def _default_cls_attr(name: str, cls_value: str | None) -> Callable[[_Getter], str]:
    """Make a decorator type: ``cls_value`` when read on the class, ``getter(proxy)`` on one."""
    # Python and tools (inspect, pydoc, pickle) need Proxy.__name__, __module__ and
    # __doc__ to be plain strings, while on an instance they should describe the target.
    # Being a str subclass satisfies the former, ``__get__`` the latter.
    class ClassValueOrGetter(str):
        _getter: _Getter

        def __new__(cls, getter: _Getter) -> ClassValueOrGetter:
            value = super().__new__(cls, cls_value)
            value._getter = getter
            return value

        def __get__(self, obj: Proxy[Any] | None, cls: type | None = None) -> str | None:
            return self if obj is None else self._getter(obj)

    ClassValueOrGetter.__name__ = ClassValueOrGetter.__qualname__ = name
    return ClassValueOrGetter


def try_import(module: str, default: T | None = None) -> ModuleType | T | None:
    """Import ``module`` by name; ``default`` when it cannot be imported."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        return default


class Proxy(Generic[T]):
    """Stands in for the object its factory returns, calling the factory on every use.

    Operators and item access forward to the target whatever its type, so
    their results are typed ``object``: use :meth:`_get_current_object` for
    the target with its own type.
    """

    __slots__ = ('__local', '__args', '__kwargs', '__dict__')
    __custom_name__: str  # only set when a name is given

    def __init__(self, local: Callable[..., T], args: tuple[object, ...] | None = None,
                 kwargs: dict[str, object] | None = None, name: str | None = None,
                 __doc__: str | None = None) -> None:
        _set_own(self, '_Proxy__local', local)
        _set_own(self, '_Proxy__args', args or ())
        _set_own(self, '_Proxy__kwargs', kwargs or {})
        # Stored only when given, so that otherwise the target's own are reported.
        for attr, value in (('__custom_name__', name), ('__doc__', __doc__)):
            if value is not None:
                _set_own(self, attr, value)

    @_default_cls_attr('name', __name__)
    def __name__(self) -> str:
        try:
            return self.__custom_name__
        except AttributeError:
            target: Any = self._get_current_object()  # functions, classes, modules...
            name: str = target.__name__
            return name

    @_default_cls_attr('qualname', __name__)
    def __qualname__(self) -> str:
        try:
            return self.__custom_name__
        except AttributeError:
            target: Any = self._get_current_object()  # functions, classes, modules...
            qualname: str = target.__qualname__
            return qualname

    @_default_cls_attr('module', __module__)
    def __module__(self) -> str:
        return self._get_current_object().__module__

    @_default_cls_attr('doc', __doc__)
    def __doc__(self) -> str | None:
        return self._get_current_object().__doc__

    def _get_class(self) -> type:
        return self._get_current_object().__class__

    @property  # type: ignore[misc]  # read-only on purpose, unlike object's
    def __class__(self) -> type:
        return self._get_class()

    def _get_current_object(self) -> T:
        """Return the real object behind the proxy."""
        loc: Callable[..., T] = object.__getattribute__(self, '_Proxy__local')
        return loc(*self.__args, **self.__kwargs)

    @property
    def __dict__(self) -> dict[str, object]:  # type: ignore[override]
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
        # Any: the attribute's type is the target's, unknown to this class.
        if name == '__members__':
            return dir(self._get_current_object())
        return getattr(self._get_current_object(), name)

    # Operators forward to the target, whose own type decides what they do
    # (a TypeError when it has no such operator): ``target`` is dynamically typed.

    def __setitem__(self, key: object, value: object) -> None:
        target: Any = self._get_current_object()
        target[key] = value

    def __delitem__(self, key: object) -> None:
        target: Any = self._get_current_object()
        del target[key]

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._get_current_object(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._get_current_object(), name)

    def __str__(self) -> str:
        return str(self._get_current_object())

    def __lt__(self, other: object) -> bool:
        target: Any = self._get_current_object()
        return bool(target < other)

    def __le__(self, other: object) -> bool:
        target: Any = self._get_current_object()
        return bool(target <= other)

    def __eq__(self, other: object) -> bool:
        target: Any = self._get_current_object()
        return bool(target == other)

    def __ne__(self, other: object) -> bool:
        target: Any = self._get_current_object()
        return bool(target != other)

    def __gt__(self, other: object) -> bool:
        target: Any = self._get_current_object()
        return bool(target > other)

    def __ge__(self, other: object) -> bool:
        target: Any = self._get_current_object()
        return bool(target >= other)

    def __hash__(self) -> int:
        return hash(self._get_current_object())

    def __call__(self, *a: Any, **kw: Any) -> object:
        target: Any = self._get_current_object()
        return target(*a, **kw)

    def __len__(self) -> int:
        target: Any = self._get_current_object()
        return len(target)

    def __getitem__(self, i: object) -> object:
        target: Any = self._get_current_object()
        return target[i]

    def __iter__(self) -> Iterator[object]:
        target: Any = self._get_current_object()
        return iter(target)

    def __contains__(self, i: object) -> bool:
        target: Any = self._get_current_object()
        return i in target

    def __add__(self, other: object) -> object:
        target: Any = self._get_current_object()
        return target + other

    def __sub__(self, other: object) -> object:
        target: Any = self._get_current_object()
        return target - other

    def __mul__(self, other: object) -> object:
        target: Any = self._get_current_object()
        return target * other

    def __truediv__(self, other: object) -> object:
        target: Any = self._get_current_object()
        return target / other

    def __mod__(self, other: object) -> object:
        target: Any = self._get_current_object()
        return target % other

    def __or__(self, other: object) -> object:
        target: Any = self._get_current_object()
        return target | other

    def __and__(self, other: object) -> object:
        target: Any = self._get_current_object()
        return target & other

    def __invert__(self) -> object:
        target: Any = self._get_current_object()
        return ~target

    def __neg__(self) -> object:
        target: Any = self._get_current_object()
        return -target

    def __enter__(self) -> object:
        target: Any = self._get_current_object()
        return target.__enter__()

    def __exit__(self, *a: object) -> bool | None:
        target: Any = self._get_current_object()
        suppress: bool | None = target.__exit__(*a)
        return suppress

    def __reduce__(self) -> str | tuple[object, ...]:
        return self._get_current_object().__reduce__()


class PromiseProxy(Proxy[T]):
    """Proxy that evaluates its factory once, at first use.

    The first access evaluates the object and caches it; after that the
    proxy forwards to the cached object.  Callbacks registered with
    ``__then__`` run when it is evaluated.
    """

    __slots__ = ('__pending__', '__weakref__')

    def _get_current_object(self) -> T:
        try:
            thing: T = object.__getattribute__(self, '__thing')
            return thing
        except AttributeError:
            return self.__evaluate__()

    def __then__(self, fun: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Call ``fun(*args, **kwargs)`` once the object is evaluated (at once if it is)."""
        if self.__evaluated__():
            fun(*args, **kwargs)
        else:
            _pending_callbacks(self).append((fun, args, kwargs))

    def __evaluated__(self) -> bool:
        """Return True if the object behind the proxy has been evaluated."""
        return _get_own(self, '__thing', _NOT_EVALUATED) is not _NOT_EVALUATED

    def __maybe_evaluate__(self) -> T:
        return self._get_current_object()

    def __evaluate__(self, _clean: tuple[str, ...] = ('_Proxy__local', '_Proxy__args',
                                                     '_Proxy__kwargs')) -> T:
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


def _set_own(proxy: Proxy[Any], attr: str, value: object) -> None:
    # object.__setattr__: the proxy's own __setattr__ would write to the target.
    object.__setattr__(proxy, attr, value)


def _get_own(proxy: Proxy[Any], attr: str, default: object = None) -> Any:
    try:
        return object.__getattribute__(proxy, attr)
    except AttributeError:
        return default


def _del_own(proxy: Proxy[Any], attr: str) -> None:
    try:
        object.__delattr__(proxy, attr)
    except AttributeError:  # pragma: no cover
        pass


_Callback = tuple[Callable[..., object], tuple[object, ...], dict[str, object]]


def _pending_callbacks(proxy: PromiseProxy[Any]) -> deque[_Callback]:
    """The ``__then__`` callbacks waiting for ``proxy`` to be evaluated (created on demand)."""
    pending: deque[_Callback] | None = _get_own(proxy, '__pending__')
    if pending is None:
        pending = deque()
        _set_own(proxy, '__pending__', pending)
    return pending


def _run_pending_callbacks(proxy: PromiseProxy[Any]) -> None:
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


@runtime_checkable
class SupportsMaybeEvaluate(Protocol[T_co]):
    """An object standing for a value it can evaluate (a promise proxy, a lazy value)."""

    def __maybe_evaluate__(self) -> T_co:
        """Return the value (evaluating it first when needed)."""


@overload
def maybe_evaluate(obj: SupportsMaybeEvaluate[T]) -> T: ...
@overload
def maybe_evaluate(obj: T) -> T: ...


def maybe_evaluate(obj: object) -> object:
    """The object behind ``obj`` if it is a promise proxy, else ``obj`` itself."""
    if isinstance(obj, SupportsMaybeEvaluate):
        return obj.__maybe_evaluate__()
    return obj


def fun_of_method(method: Callable[..., R] | classmethod[Any, ..., R]
                  | staticmethod[..., R]) -> Callable[..., R]:
    """Return the plain function behind a (bound, class or static) method."""
    if isinstance(method, (classmethod, staticmethod)):
        return method.__func__
    fun: Callable[..., R] = getattr(method, '__func__', method)  # a bound method's function
    return fun


def reclassmethod(method: Callable[..., R] | classmethod[Any, ..., R]) -> classmethod[Any, ..., R]:
    """Return ``method``'s function as a :func:`classmethod` (e.g. to reuse a base class's one)."""
    return classmethod(fun_of_method(method))


class class_property(Generic[R]):
    """A property read on the class as well as on instances: ``getter(cls)``.

    ``setter(obj, value)``, when given (or added with :meth:`setter`), runs
    on assignment to an instance's attribute.
    """

    # The getter's parameter is Any: it gets the class, while a type checker
    # reads a plain ``def`` in a class body as taking an instance.
    def __init__(self, getter: Callable[[Any], R] | None = None,
                 setter: Callable[[Any, R], object] | None = None) -> None:
        self.getter = fun_of_method(getter) if getter is not None else None
        self.fset = fun_of_method(setter) if setter is not None else None
        self.__doc__ = getattr(self.getter, '__doc__', None)

    def __get__(self, obj: object, cls: type | None = None) -> R:
        if self.getter is None:
            raise AttributeError('unreadable class property')
        return self.getter(cls if cls is not None else type(obj))

    def __set__(self, obj: object, value: R) -> None:
        if self.fset is None:
            raise AttributeError("can't set class property")
        self.fset(obj, value)

    def setter(self, setter: Callable[[Any, R], object]) -> class_property[R]:
        """Return a copy of this property that assigns through ``setter``."""
        return type(self)(self.getter, setter)

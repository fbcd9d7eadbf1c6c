"""Deprecation helpers: warn on use of deprecated functions and properties."""
from __future__ import annotations

import warnings
from collections.abc import Callable as CallableType
from functools import wraps
from typing import Any

from celery.exceptions import CDeprecationWarning, CPendingDeprecationWarning

__all__ = ('Callable', 'Property', 'warn')

# Celery's user-visible texts, kept verbatim (spacing included: people match on them).
PENDING_DEPRECATION_FMT = (
    '\n    {description} is scheduled for deprecation in     version {deprecation}'
    ' and removal in version v{removal}.     {alternative}\n'
)
DEPRECATION_FMT = (
    '\n    {description} is deprecated and scheduled for removal in\n'
    '    version {removal}. {alternative}\n'
)


def warn(description: str | None = None, deprecation: str | None = None,
         removal: str | None = None, alternative: str | None = None,
         stacklevel: int = 2) -> None:
    """Emit a (pending) deprecation warning for ``description``."""
    context = {'description': description, 'deprecation': deprecation,
               'removal': removal, 'alternative': alternative or ''}
    if deprecation is not None:
        warning: Warning = CPendingDeprecationWarning(PENDING_DEPRECATION_FMT.format(**context))
    else:
        warning = CDeprecationWarning(DEPRECATION_FMT.format(**context))
    warnings.warn(warning, stacklevel=stacklevel)


def Callable(deprecation: str | None = None, removal: str | None = None,
             alternative: str | None = None,
             description: str | None = None) -> CallableType[[CallableType[..., Any]],
                                                             CallableType[..., Any]]:
    """Decorator: warn each time the decorated function is called."""
    def decorator(fun: CallableType[..., Any]) -> CallableType[..., Any]:
        @wraps(fun)
        def deprecated(*args: Any, **kwargs: Any) -> Any:
            warn(description=description or f'{fun.__module__}.{fun.__qualname__}',
                 deprecation=deprecation, removal=removal,
                 alternative=alternative, stacklevel=3)
            return fun(*args, **kwargs)
        return deprecated
    return decorator


def Property(deprecation: str | None = None, removal: str | None = None,
             alternative: str | None = None,
             description: str | None = None) -> CallableType[[CallableType[..., Any]],
                                                             _deprecated_property]:
    """Decorator: a property that warns each time it is used."""
    return lambda fun: _deprecated_property(
        fun, deprecation=deprecation, removal=removal,
        alternative=alternative, description=description or fun.__name__)


class _deprecated_property:
    """A property whose every use (get, set or delete) issues a deprecation warning."""

    def __init__(self, fget: Any = None, fset: Any = None, fdel: Any = None,
                 doc: str | None = None, **depreinfo: Any) -> None:
        self._accessors = {'get': fget, 'set': fset, 'delete': fdel}
        self.__doc__ = doc or (fget.__doc__ if fget else None)
        self.depreinfo = depreinfo
        # Point the warning at the code using the attribute, not at this module.
        self.depreinfo.setdefault('stacklevel', 3)

    def _use(self, action: str, obj: Any, *value: Any) -> Any:
        accessor = self._accessors[action]
        if accessor is None:
            raise AttributeError(f'cannot {action} attribute')
        warn(**self.depreinfo)
        return accessor(obj, *value)

    def __get__(self, obj: Any, type: Any = None) -> Any:
        return self if obj is None else self._use('get', obj)

    def __set__(self, obj: Any, value: Any) -> None:
        if obj is not None:
            self._use('set', obj, value)

    def __delete__(self, obj: Any) -> None:
        if obj is not None:
            self._use('delete', obj)

    def _with(self, **accessors: Any) -> _deprecated_property:
        merged = {**self._accessors, **accessors}
        return type(self)(merged['get'], merged['set'], merged['delete'], self.__doc__,
                          **self.depreinfo)

    def setter(self, fset: Any) -> _deprecated_property:
        """Return a copy with ``fset`` as setter."""
        return self._with(set=fset)

    def deleter(self, fdel: Any) -> _deprecated_property:
        """Return a copy with ``fdel`` as deleter."""
        return self._with(delete=fdel)

"""Modules built at run time, whose attributes are imported on first use.

This is what keeps Celery's old import paths alive: a package can be
replaced by a :class:`LazyModule` that imports each public name from the
module defining it only when it is read, and old modules such as
``celery.log`` or ``celery.messaging`` can be recreated from
:data:`COMPAT_MODULES` as modules whose attributes forward to the current
app.  :mod:`celery.local` re-exports every name here.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import reduce
from types import ModuleType
from typing import Any

__all__ = (
    'COMPAT_MODULES', 'DEFAULT_ATTRS', 'DEPRECATED_ATTRS', 'MODULE_DEPRECATED',
    'LazyModule', 'create_module', 'recreate_module', 'get_compat_module',
    'get_origins', 'getappattr',
)

#: Old modules of a package: package -> module name -> either
#: ``{attribute: path on the current app}`` or the dotted name of the
#: module now holding it.
COMPAT_MODULES: dict[str, dict[str, Any]] = {
    'celery': {
        'execute': {'send_task': 'send_task'},
        'log': {
            'get_default_logger': 'log.get_default_logger',
            'setup_logging_subsystem': 'log.setup_logging_subsystem',
            'redirect_stdouts_to_logger': 'log.redirect_stdouts_to_logger',
        },
        'messaging': {
            'TaskConsumer': 'amqp.TaskConsumer',
            'establish_connection': 'connection_for_write',
            'get_consumer_set': 'amqp.TaskConsumer',
        },
        'registry': {'tasks': 'tasks'},
    },
}

#: Module attributes a recreated module keeps from the module it replaces.
DEFAULT_ATTRS = {'__file__', '__path__', '__doc__', '__all__'}

#: Names of a package that only exist for backward compatibility.
DEPRECATED_ATTRS = set(COMPAT_MODULES['celery']) | {'subtask'}

#: Warning text for an old module that is still importable.
MODULE_DEPRECATED = (
    'The {module} module is deprecated and will be removed in a future '
    'version of Celery: import its names from {replacement} instead.'
)


def getappattr(path: str) -> Any:
    """Return the attribute at dotted ``path`` of the current app (e.g. ``'amqp.TaskConsumer'``)."""
    from celery._state import get_current_app
    return reduce(getattr, path.split('.'), get_current_app())


def get_origins(defs: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Invert ``{module: names}`` into ``{name: module}``."""
    return {name: module for module, names in defs.items() for name in names}


class LazyModule(ModuleType):
    """A module that imports its attributes from their real modules on first access.

    Class attributes set by :func:`recreate_module`: ``_object_origins``
    (name -> module defining it), ``_all_by_module`` (module -> names),
    ``_direct`` (name -> module imported as that attribute) and
    ``_compat_modules`` (old submodules built by :func:`get_compat_module`).
    """

    _compat_modules: tuple[str, ...] = ()
    _all_by_module: dict[str, Iterable[str]] = {}
    _direct: dict[str, str] = {}
    _object_origins: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        origin = self._object_origins.get(name)
        if origin is not None:
            module = importlib.import_module(origin)
            # One import brings every name that module provides here.
            for other in self._all_by_module[origin]:
                setattr(self, other, getattr(module, other))
            return getattr(module, name)
        if name in self._direct:
            module = importlib.import_module(self._direct[name])
            setattr(self, name, module)
            return module
        if name in self._compat_modules:
            module = get_compat_module(self, name)
            setattr(self, name, module)
            return module
        raise AttributeError(f'module {self.__name__!r} has no attribute {name!r}')

    def __dir__(self) -> list[str]:
        names = set(super().__dir__()) | set(self._object_origins) | set(self._direct)
        return sorted(names | set(self._compat_modules))

    def __reduce__(self) -> tuple[Callable[[str], ModuleType], tuple[str]]:
        # A module pickles as its name: unpickling imports it again.
        return importlib.import_module, (self.__name__,)


def create_module(name: str, attrs: Mapping[str, Any], cls_attrs: dict[str, Any] | None = None,
                  pkg: ModuleType | None = None, base: type[ModuleType] = LazyModule,
                  prepare_attr: Callable[[Any], Any] | None = None) -> ModuleType:
    """Create module ``name`` (under ``pkg`` if given) holding ``attrs``, and register it in :data:`sys.modules`.

    The module is an instance of a new subclass of ``base`` whose class
    attributes are ``cls_attrs``; each attribute value is passed through
    ``prepare_attr`` first when given.
    """
    fqdn = f'{pkg.__name__}.{name}' if pkg is not None else name
    parent, _, short_name = fqdn.rpartition('.')
    module_cls = type(short_name, (base,), {**(cls_attrs or {}), '__module__': parent})
    module: ModuleType = module_cls(fqdn)
    for attr, value in attrs.items():
        setattr(module, attr, prepare_attr(value) if prepare_attr else value)
    sys.modules[fqdn] = module
    return module


def recreate_module(name: str, compat_modules: Iterable[str] | None = None,
                    by_module: dict[str, Iterable[str]] | None = None,
                    direct: dict[str, str] | None = None, base: type[ModuleType] = LazyModule,
                    **attrs: Any) -> tuple[ModuleType, ModuleType]:
    """Replace module ``name`` in :data:`sys.modules` by a lazy one; return ``(old, new)``.

    ``by_module`` maps module names to the names imported from them on first
    access, ``direct`` maps attributes to modules imported as them, and
    ``compat_modules`` names old submodules from :data:`COMPAT_MODULES`.
    The new module keeps the old one's :data:`DEFAULT_ATTRS` plus ``attrs``.
    """
    old_module = sys.modules[name]
    by_module = dict(by_module or {})
    cls_attrs = {
        '_compat_modules': tuple(compat_modules or ()),
        '_all_by_module': by_module,
        '_direct': dict(direct or {}),
        '_object_origins': get_origins(by_module),
        '__all__': tuple(get_origins(by_module)),
    }
    kept = {attr: getattr(old_module, attr) for attr in DEFAULT_ATTRS if hasattr(old_module, attr)}
    new_module = create_module(name, {**kept, **attrs}, cls_attrs=cls_attrs, base=base)
    return old_module, new_module


def get_compat_module(pkg: ModuleType, name: str) -> ModuleType:
    """Build old module ``name`` of package ``pkg`` from :data:`COMPAT_MODULES`.

    Attributes given as app paths become proxies to the current app's
    attribute; a module name is simply imported.
    """
    from celery.local import Proxy
    definition = COMPAT_MODULES[pkg.__name__][name]
    if isinstance(definition, str):
        return importlib.import_module(definition)

    def prepare(path: str) -> Any:
        return Proxy(getappattr, (path,))
    return create_module(name, definition, pkg=pkg, prepare_attr=prepare,
                         cls_attrs={'__all__': tuple(definition)})

"""Import helpers: resolve dotted names, import from the working directory, plugins."""
from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import reload
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from celery.app.task_factory import AppTaskFactory

__all__ = (
    'NotAPackage',
    'cwd_in_path',
    'find_module',
    'gen_task_name',
    'import_from_cwd',
    'instantiate',
    'load_extension_class_names',
    'load_extension_classes',
    'module_file',
    'qualname',
    'reload_from_cwd',
    'symbol_by_name',
)

T = TypeVar('T')
#: A class or function given instead of its name: returned as it is.  Not a str,
#: so that ``str | type[X]`` (a name or the class) falls to the ``Any`` overload.
Symbol = TypeVar('Symbol', bound=type | Callable[..., object])

#: The script the main process runs, when a pool sets ``MP_MAIN_FILE`` for its
#: children: tasks defined there are named as in the main process.
MP_MAIN_FILE = os.environ.get('MP_MAIN_FILE') or None


class NotAPackage(Exception):
    """Raised when importing a package, but it's not a package."""


def qualname(obj: object) -> str:
    """Return the dotted ``module.QualName`` of a class, function or instance."""
    # Anything goes: classes, functions, instances (and proxies to them).
    target: Any = obj
    if not hasattr(target, '__name__') and hasattr(target, '__class__'):
        target = target.__class__
    name: str = getattr(target, '__qualname__', None) or target.__name__
    module = getattr(target, '__module__', None)
    return f'{module}.{name}' if module else name


@overload
def symbol_by_name(name: str, aliases: Mapping[str, str] | None = None,
                   imp: Callable[..., ModuleType] | None = None,
                   package: str | None = None, sep: str = '.',
                   default: object = None, **kwargs: Any) -> Any: ...
@overload
def symbol_by_name(name: Symbol, aliases: Mapping[str, str] | None = None,
                   imp: Callable[..., ModuleType] | None = None,
                   package: str | None = None, sep: str = '.',
                   default: object = None, **kwargs: Any) -> Symbol: ...
@overload
def symbol_by_name(name: object, aliases: Mapping[str, str] | None = None,
                   imp: Callable[..., ModuleType] | None = None,
                   package: str | None = None, sep: str = '.',
                   default: object = None, **kwargs: Any) -> Any: ...


# Any for a name: the type of what it names is known only once imported.
def symbol_by_name(name: object, aliases: Mapping[str, str] | None = None,
                   imp: Callable[..., ModuleType] | None = None,
                   package: str | None = None, sep: str = '.',
                   default: object = None, **kwargs: Any) -> object:
    """Resolve ``'module:attr'`` or ``'module.attr'`` to the object it names.

    Non-strings are returned unchanged; ``aliases`` maps short names to full
    ones, and relative names (``'.mod:attr'``) resolve against ``package``.
    """
    if not isinstance(name, str):
        return name
    name = (aliases or {}).get(name) or name
    sep = ':' if ':' in name else sep
    module_name, _, attr = name.rpartition(sep)
    if not module_name:
        # No separator: the whole name is a module (maybe relative to ``package``).
        module_name, attr = name, ''
    imp = imp or importlib.import_module
    try:
        try:
            module = imp(module_name, package=package, **kwargs)
        except ValueError as exc:
            raise ValueError(f"Couldn't import {name!r}: {exc}") from exc
        return getattr(module, attr) if attr else module
    except (ImportError, AttributeError):
        if default is None:
            raise
    return default


@overload
def instantiate(name: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...
@overload
def instantiate(name: str, *args: Any, **kwargs: Any) -> Any: ...


def instantiate(name: Callable[..., object] | str, *args: Any, **kwargs: Any) -> object:
    """Create an instance of the class named ``name`` (or given as a class)."""
    factory: Callable[..., object] = symbol_by_name(name) if isinstance(name, str) else name
    return factory(*args, **kwargs)


@contextmanager
def cwd_in_path() -> Iterator[str | None]:
    """Context with the current directory added to ``sys.path``."""
    cwd = os.getcwd()
    if cwd in sys.path:
        yield None
        return
    sys.path.insert(0, cwd)
    try:
        yield cwd
    finally:
        try:
            sys.path.remove(cwd)
        except ValueError:
            pass


def find_module(module: str, path: list[str] | None = None,
                imp: Callable[[str], ModuleType] | None = None) -> ModuleType:
    """Import ``module`` (also from the current directory) and return it.

    Raises :exc:`NotAPackage` when the name has dots but a parent is a plain
    module (``celeryconfig.py`` meant as a file name), else :exc:`ImportError`.
    """
    imp = imp or importlib.import_module
    with cwd_in_path():
        try:
            return imp(module)
        except ImportError:
            _raise_if_parent_not_package(module, imp)
            raise


def _raise_if_parent_not_package(module: str, imp: Callable[[str], ModuleType]) -> None:
    parts = module.split('.')
    for index in range(1, len(parts)):
        package = '.'.join(parts[:index])
        try:
            parent = imp(package)
        except ImportError:
            return
        if not hasattr(parent, '__path__'):
            raise NotAPackage(package)


def import_from_cwd(module: str, imp: Callable[..., ModuleType] | None = None,
                    package: str | None = None) -> ModuleType:
    """Import ``module``, also looking in the current directory."""
    imp = imp or importlib.import_module
    with cwd_in_path():
        return imp(module, package=package)


def reload_from_cwd(module: ModuleType,
                    reloader: Callable[[ModuleType], ModuleType] | None = None) -> ModuleType:
    """Reload ``module``, also looking in the current directory."""
    reloader = reloader or reload
    with cwd_in_path():
        return reloader(module)


def module_file(module: ModuleType) -> str:
    """Return the source file of ``module`` (``.py`` rather than ``.pyc``)."""
    name = module.__file__ or ''
    return name[:-1] if name.endswith('.pyc') else name


def _is_main_script(module: ModuleType) -> bool:
    if not MP_MAIN_FILE or not getattr(module, '__file__', None):
        return False
    return os.path.realpath(module_file(module)) == os.path.realpath(MP_MAIN_FILE)


def gen_task_name(app: AppTaskFactory, name: str, module_name: str) -> str:
    """Return the default name of a task defined as ``name`` in ``module_name``."""
    module_name = module_name or '__main__'
    try:
        module = sys.modules[module_name]
    except KeyError:
        module = None
    if module is not None:
        # A pool child imports the parent's script under another name; the
        # task keeps the name it has in the parent.
        module_name = '__main__' if _is_main_script(module) else module.__name__
        # A task defined in a script is named after the app, not ``__main__``.
        if module_name == '__main__' and app.main:
            return f'{app.main}.{name}'
    return '.'.join(part for part in (module_name, name) if part)


def load_extension_class_names(namespace: str) -> Iterator[tuple[str, str]]:
    """Yield ``(name, 'module:attr')`` for each entry point in group ``namespace``."""
    from importlib.metadata import entry_points
    for entry_point in entry_points(group=namespace):
        yield entry_point.name, entry_point.value


def load_extension_classes(namespace: str) -> Iterator[tuple[str, type]]:
    """Yield ``(name, class)`` for each loadable entry point in group ``namespace``."""
    for name, class_name in load_extension_class_names(namespace):
        try:
            cls = symbol_by_name(class_name)
        except (ImportError, SyntaxError) as exc:
            warnings.warn(
                f'Cannot load {namespace} extension {class_name!r}: {exc!r}',
                stacklevel=2)
        else:
            yield name, cls

"""The loader base class: reads configuration, imports task modules, autodiscovers."""
from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from difflib import get_close_matches
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.task import Task

__all__ = ('BaseLoader', 'autodiscover_tasks', 'config_mapping', 'find_related_module')

CONFIG_INVALID_NAME = """\
Error: Module '{module}' doesn't exist, or it's not a valid Python module name.\
"""

CONFIG_WITH_SUFFIX = CONFIG_INVALID_NAME + """\
 Did you mean '{suggest}'?  Give the module name without the .py suffix.\
"""

unconfigured = object()

#: ``(type)value`` on the command line casts ``value`` to ``type``.
RE_CMDLINE_TYPE = re.compile(r'\((\w+)\)')


def config_mapping(obj: object) -> Mapping:
    """The settings held by ``obj``: a mapping as-is, else its public setting-like attributes.

    Only all-lowercase or all-UPPERCASE public names count as settings, so
    classes and helpers imported into a config module are left out.  The
    snapshot is a plain dict: every ``app.conf`` lookup that falls through to
    the defaults passes this layer, and a dict lookup is far cheaper than a
    failed ``getattr``.
    """
    if isinstance(obj, Mapping):
        return obj
    return {
        key: getattr(obj, key) for key in dir(obj)
        if not key.startswith('_') and (key.islower() or key.isupper())
        and not isinstance(getattr(obj, key, None), ModuleType)
    }


class BaseLoader:
    """Loads configuration and task modules for an app; hooks into worker start-up.

    Subclasses can override ``on_worker_init``, ``on_worker_process_init``,
    ``on_task_init`` and ``on_process_cleanup``.
    """

    builtin_modules: frozenset[str] = frozenset()
    configured = False
    override_backends: ClassVar[dict[str, str]] = {}
    worker_initialized = False

    _conf: Any = unconfigured

    def __init__(self, app: Celery, **kwargs: Any) -> None:
        self.app = app
        self.task_modules: set[str] = set()

    def now(self, utc: bool = True) -> datetime:
        """Current time (UTC-aware unless ``utc`` is false)."""
        return datetime.now(timezone.utc) if utc else datetime.now()

    def on_task_init(self, task_id: str, task: Task) -> None:
        """Called before a task is executed."""

    def on_process_cleanup(self) -> None:
        """Called after a task is executed."""

    def on_worker_init(self) -> None:
        """Called when the worker starts (after the default modules are imported)."""

    def on_worker_shutdown(self) -> None:
        """Called when the worker stops."""

    def on_worker_process_init(self) -> None:
        """Called in each pool child process when it starts."""

    def import_task_module(self, module: str) -> ModuleType:
        """Import a module that defines tasks, remembering its name."""
        self.task_modules.add(module)
        return self.import_from_cwd(module)

    def import_module(self, module: str, package: str | None = None) -> ModuleType:
        """Import ``module`` (relative to ``package`` when it starts with a dot)."""
        return importlib.import_module(module, package=package)

    def import_from_cwd(self, module: str, imp: Callable[..., ModuleType] | None = None,
                        package: str | None = None) -> ModuleType:
        """Import ``module``, also looking in the current directory."""
        from celery.utils.imports import import_from_cwd
        return import_from_cwd(module, self.import_module if imp is None else imp,
                               package=package)

    def import_default_modules(self) -> list[ModuleType]:
        """Send ``import_modules``, then import the ``imports`` and ``include`` modules."""
        from celery import signals
        responses = signals.import_modules.send(sender=self.app)
        # Logging is not set up yet here: a failed receiver must stop start-up
        # visibly rather than be logged to nowhere.
        for _, response in responses:
            if isinstance(response, Exception):
                raise response
        return [self.import_task_module(module) for module in self.default_modules]

    def init_worker(self) -> None:
        """Prepare the worker: import the default modules, then ``on_worker_init``."""
        if not self.worker_initialized:
            self.worker_initialized = True
            self.import_default_modules()
            self.on_worker_init()

    def shutdown_worker(self) -> None:
        """Run the ``on_worker_shutdown`` hook."""
        self.on_worker_shutdown()

    def init_worker_process(self) -> None:
        """Run the ``on_worker_process_init`` hook (in a pool child)."""
        self.on_worker_process_init()

    def config_from_object(self, obj: object, silent: bool = False) -> bool:
        """Use ``obj`` as configuration: a module or ``'module:attr'`` name, module, class or mapping.

        With ``silent=True`` a name that cannot be imported returns False
        instead of raising.
        """
        if isinstance(obj, str):
            try:
                obj = self._smart_import(obj, imp=self.import_from_cwd)
            except (ImportError, AttributeError):
                if silent:
                    return False
                raise
        self._conf = config_mapping(obj)
        if self._conf.get('override_backends') is not None:
            self.override_backends = self._conf['override_backends']
        return True

    def _smart_import(self, path: str, imp: Callable[..., Any] | None = None) -> Any:
        from celery.utils.imports import symbol_by_name
        imp = self.import_module if imp is None else imp
        if ':' in path:
            return symbol_by_name(path, imp=imp)
        # 'pkg.mod' may be a module or 'module.attribute': try the module first.
        try:
            return imp(path)
        except ImportError:
            return symbol_by_name(path, imp=imp)

    def _import_config_module(self, name: str) -> ModuleType:
        from celery.utils.imports import NotAPackage
        try:
            self.find_module(name)
        except NotAPackage as exc:
            if name.endswith('.py'):
                raise NotAPackage(CONFIG_WITH_SUFFIX.format(
                    module=name, suggest=name[:-3])) from exc
            raise NotAPackage(CONFIG_INVALID_NAME.format(module=name)) from exc
        return self.import_from_cwd(name)

    def find_module(self, module: str) -> ModuleType:
        """Find ``module`` without importing it (its parent packages are imported)."""
        from celery.utils.imports import find_module
        return find_module(module)

    def cmdline_config_parser(self, args: Iterable[str], namespace: str = 'celery',
                              re_type: re.Pattern = RE_CMDLINE_TYPE,
                              extra_types: Mapping[str, Callable[[str], Any]] | None = None,
                              override_types: Mapping[str, str] | None = None,
                              ) -> dict[str, Any]:
        """Parse ``key=value`` settings given on the command line.

        ``key`` is a setting name (``worker_concurrency``, ``worker.concurrency``,
        ``--worker-concurrency``, or an old UPPERCASE name); ``.key``/``_key``
        or a bare key of ``namespace`` expand to ``<namespace>_key``.  Values are
        converted to the setting's declared type; ``(type)value`` forces a type
        (``(json)``, ``(int)``, ``(bool)``...).
        """
        from celery.app.defaults import _TO_NEW_KEY, OPTIONS, Option
        namespace = (namespace or '').lower()
        typemap = dict(Option.typemap, json=_json_loads, **(extra_types or {}))
        override_types = override_types or {'tuple': 'json', 'list': 'json', 'dict': 'json'}

        def resolve_key(raw: str) -> str:
            key = raw.lstrip('-').replace('.', '_').replace('-', '_')
            if key.isupper() and key in _TO_NEW_KEY:
                return _TO_NEW_KEY[key]
            key = key.lower()
            if key.startswith('_'):
                key = f'{namespace}{key}' if namespace != 'celery' else key[1:]
            elif key not in OPTIONS and f'{namespace}_{key}' in OPTIONS:
                key = f'{namespace}_{key}'
            return key

        def parse(arg: str) -> tuple[str, Any]:
            if '=' not in arg:
                raise ValueError(f'{arg!r}: expected key=value')
            raw_key, value = arg.split('=', 1)
            key = resolve_key(raw_key)
            cast = re_type.match(value)
            if cast:
                type_ = override_types.get(cast.group(1), cast.group(1))
                if type_ not in typemap:
                    raise ValueError(f'{key!r}: unknown type {type_!r} '
                                     f'(known: {", ".join(sorted(typemap))})')
                return key, typemap[type_](value[len(cast.group()):])
            if key not in OPTIONS:
                close = get_close_matches(key, OPTIONS, n=1)
                hint = f' (did you mean {close[0]!r}?)' if close else ''
                raise ValueError(f'{raw_key!r}: unknown setting{hint}; use '
                                 f'{raw_key}=(string)value to set a custom one')
            try:
                return key, OPTIONS[key].to_python(value)
            except ValueError as exc:
                raise ValueError(f'{key!r}: {exc}') from None

        return dict(parse(arg) for arg in args)

    def read_configuration(self, env: str = 'CELERY_CONFIG_MODULE') -> Mapping | None:
        """Configuration from the module named by the ``env`` variable, if set."""
        custom_config = os.environ.get(env)
        if custom_config:
            return config_mapping(self._import_config_module(custom_config))
        return None

    def autodiscover_tasks(self, packages: Iterable[str], related_name: str = 'tasks') -> None:
        """Import ``<package>.<related_name>`` for each package that has one."""
        self.task_modules.update(
            mod.__name__ for mod in autodiscover_tasks(packages or (), related_name) if mod)

    @cached_property
    def default_modules(self) -> tuple[str, ...]:
        """Modules the worker imports at start-up: built-ins, ``imports``, ``include``."""
        from celery.utils.functional import maybe_list
        conf = self.app.conf
        return (tuple(self.builtin_modules)
                + tuple(maybe_list(conf.imports) or ())
                + tuple(maybe_list(conf.include) or ()))

    @property
    def conf(self) -> Mapping | None:
        """Loader configuration (read on first access)."""
        if self._conf is unconfigured:
            self._conf = self.read_configuration()
        return self._conf


def _json_loads(value: str) -> Any:
    import json
    return json.loads(value)


_RACE_PROTECTION = False


def autodiscover_tasks(packages: Iterable[str], related_name: str = 'tasks') -> list:
    """Import ``<package>.<related_name>`` for every package (None where it is absent)."""
    global _RACE_PROTECTION
    # Importing a tasks module can trigger autodiscovery again (e.g. through
    # app finalization): that nested call must not recurse.
    if _RACE_PROTECTION:
        return []
    _RACE_PROTECTION = True
    try:
        return [find_related_module(pkg, related_name) for pkg in packages]
    finally:
        _RACE_PROTECTION = False


def find_related_module(package: str, related_name: str) -> ModuleType | None:
    """Import ``<package>.<related_name>``; None when that module does not exist."""
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError:
        # Django lets INSTALLED_APPS name an AppConfig class: look in the package holding it.
        parent = package.rpartition('.')[0]
        if not parent:
            raise
        package = parent
    else:
        if not related_name:
            return module
    return _import_if_present(f'{package}.{related_name}')


def _import_if_present(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            # A module imported *by* it is missing: that is a real error.
            raise
        return None

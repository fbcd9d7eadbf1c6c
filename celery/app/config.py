"""How an app loads its configuration: the layers behind ``app.conf``.

Layers, lowest first: defaults, ``config_from_object`` /
``config_from_envvar``, keyword arguments to ``Celery()``, then
``app.conf`` writes; ``CELERY_BROKER_URL`` and friends override the broker
and backend URLs from the environment.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from celery.exceptions import ImproperlyConfigured
from celery.local import maybe_evaluate

if TYPE_CHECKING:
    from celery.app.utils import Settings

__all__ = ('AppConfiguration', 'PendingConfiguration')

ERR_ENVVAR_NOT_SET = (
    'The environment variable {0!r} is not set, and as such the configuration '
    'could not be loaded.  Set it to the name of a configuration module.')


class PendingConfiguration(MutableMapping):
    """``app.conf`` before it is loaded: writes are recorded, reads load it."""

    def __init__(self, preconf: dict[str, Any], load: Callable[[], Settings],
                 is_loaded: Callable[[], bool]) -> None:
        object.__setattr__(self, '_preconf', preconf)
        object.__setattr__(self, '_load', load)
        object.__setattr__(self, '_is_loaded', is_loaded)

    def __setitem__(self, key: str, value: Any) -> None:
        # A reference kept from before loading must keep writing to the live settings.
        if self._is_loaded():
            self._load()[key] = value
        else:
            self._preconf[key] = value

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delitem__(self, key: str) -> None:
        del self._load()[key]

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith('__'):
            raise AttributeError(key)
        return getattr(self._load(), key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return key in self._preconf or key in self._load()

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Record several settings without loading the configuration."""
        if self._is_loaded():
            self._load().update(*args, **kwargs)
        else:
            self._preconf.update(*args, **kwargs)

    def __repr__(self) -> str:
        return f'<PendingConfiguration: {self._preconf!r}>'


class AppConfiguration:
    """Mixin giving :class:`~celery.Celery` its layered configuration."""

    _conf: Any
    _config_source: Any
    _preconf: dict[str, Any]
    _preconf_set_by_auto: set[str]
    _pending_defaults: Any
    _config_lock: Any
    _settings_in_progress: Any = None
    configured: bool
    namespace: str | None
    loader: Any

    @property
    def conf(self) -> Settings:
        """Current configuration (loaded on first read)."""
        if self._conf is None:
            self._conf = PendingConfiguration(
                self._preconf, self._load_config, lambda: self.configured)
        return self._conf

    @conf.setter
    def conf(self, settings: Any) -> None:
        self._conf = settings

    def _load_config(self) -> Settings:
        if self.configured:
            return self._conf
        with self._config_lock:
            if self.configured:  # another thread finished loading while we waited
                return self._conf
            if self._settings_in_progress is not None:
                # Re-entered from the loading thread (a handler or validator read app.conf).
                return self._settings_in_progress
            try:
                return self._do_load_config()
            finally:
                self._settings_in_progress = None

    def _do_load_config(self) -> Settings:
        from celery.app.utils import detect_settings, validate_settings
        self.on_configure.send(sender=self)  # type: ignore[attr-defined]
        if self._config_source:
            self.loader.config_from_object(self._config_source)
        settings = detect_settings(
            self.prepare_config(self.loader.conf), self._preconf,
            ignore_keys=self._preconf_set_by_auto, prefix=self.namespace,
        )
        self._settings_in_progress = settings
        while self._pending_defaults:
            settings.add_defaults(maybe_evaluate(self._pending_defaults.popleft()()))
        validate_settings(settings)
        # Publish only complete settings: other threads read them without the lock.
        self._conf = settings
        self.configured = True
        self._add_pending_periodic_tasks()  # type: ignore[attr-defined]
        self.on_after_configure.send(sender=self, source=settings)  # type: ignore[attr-defined]
        return settings

    def prepare_config(self, c: Any) -> Any:
        """Prepare configuration before it is merged with the defaults (warns on deprecated keys)."""
        from celery.app.defaults import find_deprecated_settings
        return find_deprecated_settings(c)

    def add_defaults(self, fun: Any) -> None:
        """Add default configuration from dict ``fun`` (or a callable returning one, lazily)."""
        if not callable(fun):
            d, fun = fun, lambda: d
        if self.configured:
            return self._conf.add_defaults(fun())
        self._pending_defaults.append(fun)

    def config_from_object(self, obj: Any, silent: bool = False, force: bool = False,
                           namespace: str | None = None) -> Any:
        """Read configuration from object: a module, a class, or a module name string."""
        self._config_source = obj
        self.namespace = namespace or self.namespace
        if force or self.configured:
            self._conf = None
            self.configured = False
            if force:
                return self.loader.config_from_object(obj, silent=silent)
        return None

    def config_from_envvar(self, variable_name: str, silent: bool = False,
                           force: bool = False) -> Any:
        """Read configuration from the module named by environment variable ``variable_name``."""
        module_name = os.environ.get(variable_name)
        if not module_name:
            if silent:
                return False
            raise ImproperlyConfigured(ERR_ENVVAR_NOT_SET.format(variable_name))
        return self.config_from_object(module_name, silent=silent, force=force)

    def config_from_cmdline(self, argv: list[str], namespace: str = 'celery') -> None:
        """Apply ``key=value`` settings from the command line."""
        self.conf.update(self.loader.cmdline_config_parser(argv, namespace))

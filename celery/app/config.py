"""How an app loads its configuration: the layers behind ``app.conf``.

Layers, lowest first: defaults, ``config_from_object`` /
``config_from_envvar``, keyword arguments to ``Celery()``, then
``app.conf`` writes; ``CELERY_BROKER_URL`` and friends override the broker
and backend URLs from the environment.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from celery.exceptions import ImproperlyConfigured
from celery.local import maybe_evaluate

if TYPE_CHECKING:
    from celery.app.pending_config import PendingConfiguration
    from celery.app.publish_settings import PublishSettings
    from celery.app.utils import Settings
    from celery.loaders.base import BaseLoader
    from celery.utils.dispatch import Signal

_M = TypeVar('_M')

__all__ = ('AppConfiguration',)

ERR_ENVVAR_NOT_SET = (
    'The environment variable {0!r} is not set, and as such the configuration '
    'could not be loaded.  Set it to the name of a configuration module.')


class AppConfiguration:
    """Mixin giving :class:`~celery.Celery` its layered configuration."""

    # Settings once loaded; a PendingConfiguration before (None: not read yet).
    _conf: Any
    _config_source: object
    _config_source_silent: bool = False
    _preconf: dict[str, object]
    _preconf_set_by_auto: set[str]
    _pending_defaults: deque[Callable[[], object]]
    _config_lock: threading.RLock
    _settings_in_progress: Settings | None = None
    #: Snapshot kept by :func:`celery.app.publish_settings.publish_settings`.
    _publish_settings: PublishSettings | None = None
    configured: bool
    namespace: str | None

    if TYPE_CHECKING:
        # Given by the other parts of :class:`~celery.Celery`.
        @property
        def loader(self) -> BaseLoader: ...

        on_configure: Signal
        on_after_configure: Signal

        def _add_pending_periodic_tasks(self) -> None: ...

    @property
    def conf(self) -> Settings:
        """Current configuration (loaded on first read)."""
        if self._conf is None:
            from celery.app.pending_config import PendingConfiguration
            pending = PendingConfiguration(self._preconf, self._load_config)
            # A reference kept from before loading must keep writing to the live settings.
            object.__setattr__(pending, '_is_loaded', lambda: self.configured)
            self._conf = pending
        # Before the first read loads them, a PendingConfiguration stands in.
        conf: Settings = self._conf
        return conf

    @conf.setter
    def conf(self, settings: Settings | PendingConfiguration | None) -> None:
        self._conf = settings

    def _load_config(self) -> Settings:
        loaded: Settings
        if self.configured:
            loaded = self._conf
            return loaded
        with self._config_lock:
            if self.configured:  # another thread finished loading while we waited
                loaded = self._conf
                return loaded
            if self._settings_in_progress is not None:
                # Re-entered from the loading thread (a handler or validator read app.conf).
                return self._settings_in_progress
            try:
                return self._do_load_config()
            finally:
                self._settings_in_progress = None

    def _do_load_config(self) -> Settings:
        from celery.app.utils import detect_settings, validate_settings
        self.on_configure.send(sender=self)
        if self._config_source:
            self.loader.config_from_object(self._config_source,
                                           silent=self._config_source_silent)
        settings = detect_settings(
            self.prepare_config(self.loader.conf), self._preconf,
            ignore_keys=self._preconf_set_by_auto, prefix=self.namespace,
        )
        # Celery keeps this among the changes, where tools look for it
        # (pytest-celery reads ``app.conf.changes['deprecated_settings']``).
        settings.changes.setdefault('deprecated_settings', settings.deprecated_settings)
        self._settings_in_progress = settings
        while self._pending_defaults:
            settings.add_defaults(maybe_evaluate(self._pending_defaults.popleft()()))
        validate_settings(settings)
        # Publish only complete settings: other threads read them without the lock.
        self._conf = settings
        self.configured = True
        self._add_pending_periodic_tasks()
        self.on_after_configure.send(sender=self, source=settings)
        return settings

    def prepare_config(self, c: _M) -> _M:
        """Prepare configuration before it is merged with the defaults (warns on deprecated keys)."""
        from celery.app.defaults import find_deprecated_settings
        find_deprecated_settings(c)
        return c

    def add_defaults(self, fun: Mapping[str, object] | Callable[[], Mapping[str, object]]
                     ) -> None:
        """Add default configuration from dict ``fun`` (or a callable returning one, lazily)."""
        if not callable(fun):
            d, fun = fun, lambda: d
        if self.configured:
            self._conf.add_defaults(fun())
            return
        self._pending_defaults.append(fun)

    def config_from_object(self, obj: object, silent: bool = False, force: bool = False,
                           namespace: str | None = None) -> bool | None:
        """Read configuration from object: a module, a class, or a module name string.

        With ``silent=True`` a module name that cannot be imported leaves the
        configuration as it is instead of raising.
        """
        self._config_source = obj
        self._config_source_silent = silent
        self.namespace = namespace or self.namespace
        if force or self.configured:
            self._conf = None
            self.configured = False
            if force:
                return self.loader.config_from_object(obj, silent=silent)
        return None

    def config_from_envvar(self, variable_name: str, silent: bool = False,
                           force: bool = False) -> bool | None:
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

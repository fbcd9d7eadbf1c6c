"""How an app loads its configuration: the layers behind ``app.conf``.

Layers, lowest first: defaults, ``config_from_object`` /
``config_from_envvar``, keyword arguments to ``Celery()``, then
``app.conf`` writes; ``CELERY_BROKER_URL`` and friends override the broker
and backend URLs from the environment.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from celery.exceptions import ImproperlyConfigured
from celery.local import maybe_evaluate

if TYPE_CHECKING:
    from celery.app.utils import Settings

__all__ = ('AppConfiguration',)

ERR_ENVVAR_NOT_SET = (
    'The environment variable {0!r} is not set, and as such the configuration '
    'could not be loaded.  Set it to the name of a configuration module.')


class AppConfiguration:
    """Mixin giving :class:`~celery.Celery` its layered configuration."""

    _conf: Any
    _config_source: Any
    _config_source_silent: bool = False
    _preconf: dict[str, Any]
    _preconf_set_by_auto: set[str]
    _pending_defaults: Any
    _config_lock: Any
    _settings_in_progress: Any = None
    #: Snapshot kept by :func:`celery.app.publish_settings.publish_settings`.
    _publish_settings: Any = None
    configured: bool
    namespace: str | None
    loader: Any

    @property
    def conf(self) -> Settings:
        """Current configuration (loaded on first read)."""
        if self._conf is None:
            from celery.app.pending_config import PendingConfiguration
            pending = PendingConfiguration(self._preconf, self._load_config)
            # A reference kept from before loading must keep writing to the live settings.
            object.__setattr__(pending, '_is_loaded', lambda: self.configured)
            self._conf = pending
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

"""The loader that reads the ``celeryconfig`` module (or ``CELERY_CONFIG_MODULE``)."""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

from celery.app.defaults import parse_bool
from celery.exceptions import NotConfigured
from celery.loaders.base import BaseLoader, config_mapping

__all__ = ('DEFAULT_CONFIG_MODULE', 'Loader')

#: ``C_WNOCONF`` at import: warn even when the default ``celeryconfig`` is missing.
C_WNOCONF = parse_bool(os.environ.get('C_WNOCONF', ''))

#: Module imported when ``CELERY_CONFIG_MODULE`` is not set.
DEFAULT_CONFIG_MODULE = 'celeryconfig'


class Loader(BaseLoader):
    """Loader reading its configuration from a Python module."""

    def setup_settings(self, settingsdict: object) -> Mapping:
        """The settings held by the configuration module (or mapping)."""
        return config_mapping(settingsdict)

    def read_configuration(self, fail_silently: bool = True) -> Mapping:  # type: ignore[override]
        """Import the configuration module; warn and use no settings if it is missing."""
        requested = os.environ.get('CELERY_CONFIG_MODULE')
        configname = requested or DEFAULT_CONFIG_MODULE
        try:
            usercfg = self._import_config_module(configname)
        except ImportError:
            if not fail_silently:
                raise
            # The implicit default app looks for celeryconfig on every start:
            # only warn when a module was asked for (or C_WNOCONF is set), and
            # only in the parent (billiard sets FORKED_BY_MULTIPROCESSING).
            wanted = requested or C_WNOCONF or parse_bool(os.environ.get('C_WNOCONF', ''))
            if wanted and not os.environ.get('FORKED_BY_MULTIPROCESSING'):
                warnings.warn(NotConfigured(
                    f'No {configname!r} module found: using the default settings. '
                    f'Create {configname}.py on the Python path, or set '
                    'CELERY_CONFIG_MODULE to the name of your configuration module.'))
            return self.setup_settings({})
        self.configured = True
        return self.setup_settings(usercfg)

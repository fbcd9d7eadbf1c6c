"""Django integration: configure the app from Django settings when Django is in use."""
from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from celery.exceptions import FixupWarning

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('DjangoFixup', 'fixup')

ERR_NOT_INSTALLED = (
    'Environment variable DJANGO_SETTINGS_MODULE is defined but Django '
    "isn't installed.  Won't apply Django fix-ups!")


def fixup(app: Celery, env: str = 'DJANGO_SETTINGS_MODULE') -> DjangoFixup | None:
    """Install the Django fixup when ``DJANGO_SETTINGS_MODULE`` is set."""
    settings_module = os.environ.get(env)
    if not settings_module or 'django' in (app.loader_cls or '').lower():
        return None
    try:
        import django  # noqa: F401
    except ImportError:
        warnings.warn(FixupWarning(ERR_NOT_INSTALLED), stacklevel=2)
        return None
    return DjangoFixup(app).install()


class DjangoFixup:
    """Wire a Celery app into a Django project: settings, DB connections, setup."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        # Django serves requests on threads other than the one that made the
        # app; without this their shared tasks would use a blank default app.
        from celery import _state
        if _state.default_app is None:
            app.set_default()

    def install(self) -> DjangoFixup:
        """Hook into the app and worker signals."""
        from celery import signals
        sys.path.insert(0, os.getcwd())
        self.app.loader.now = self.now
        if not self.app._custom_task_cls_used:
            self.app.task_cls = 'celery.contrib.django.task:DjangoTask'
        signals.import_modules.connect(self.on_import_modules)
        signals.worker_init.connect(self.on_worker_init)
        signals.task_prerun.connect(self.close_database, weak=False)
        signals.task_postrun.connect(self.close_database, weak=False)
        return self

    def now(self, utc: bool = False) -> Any:
        """Return Django's notion of now."""
        from django.utils import timezone
        return timezone.now()

    def on_import_modules(self, **kwargs: Any) -> None:
        """Make sure Django is set up before task modules import models."""
        import django
        django.setup()

    def on_worker_init(self, **kwargs: Any) -> None:
        """Set up Django in the worker and close inherited DB connections."""
        import django
        django.setup()
        self.close_database()

    def close_database(self, **kwargs: Any) -> None:
        """Close database connections that are unusable or obsolete."""
        from django.db import connections
        for conn in connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()

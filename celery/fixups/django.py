"""Django integration: set Django up in the worker and keep its DB connections healthy.

Enabled for every app when ``DJANGO_SETTINGS_MODULE`` is set.  The fixup
makes the app the default one, uses Django's clock, makes
:class:`~celery.contrib.django.task.DjangoTask` the task base class, calls
``django.setup()`` before task modules are imported, lists the
``INSTALLED_APPS`` for :meth:`~celery.Celery.autodiscover_tasks`, and in the
worker closes database connections that are unusable or obsolete around
every task.
"""
from __future__ import annotations

import os
import sys
import warnings
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from celery import signals
from celery.exceptions import FixupWarning
from celery.utils.imports import symbol_by_name
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.task import Task
    from celery.worker.worker import WorkController

__all__ = ('DjangoFixup', 'DjangoWorkerFixup', 'fixup')

logger = get_logger(__name__)

ERR_NOT_INSTALLED = (
    'Environment variable DJANGO_SETTINGS_MODULE is defined but Django '
    "isn't installed.  Won't apply Django fix-ups!")

W_DEBUG_LEAK = (
    'Using settings.DEBUG leads to a memory leak, never use this setting '
    'in production environments!')


def fixup(app: Celery, env: str = 'DJANGO_SETTINGS_MODULE') -> DjangoFixup | None:
    """Install the Django fixup when ``DJANGO_SETTINGS_MODULE`` is set."""
    settings_module = os.environ.get(env)
    if not settings_module or 'django' in _loader_name(app).lower():
        return None
    try:
        import django  # noqa: F401
    except ImportError:
        warnings.warn(FixupWarning(ERR_NOT_INSTALLED), stacklevel=2)
        return None
    return DjangoFixup(app).install()


def _loader_name(app: Celery) -> str:
    loader = app.loader_cls or ''
    return loader if isinstance(loader, str) else f'{loader.__module__}.{loader.__qualname__}'


def _is_closed_error(exc: Exception) -> bool:
    """True for the database errors that only say the connection is already gone."""
    text = str(exc)
    return 'closed' in text or 'not connected' in text


class DjangoFixup:
    """Wire a Celery app into a Django project: settings, clock, task class, setup."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        # Django serves requests on threads other than the one that made the
        # app; without this their shared tasks would use a blank default app.
        from celery import _state
        if _state.default_app is None:
            app.set_default()
        self._worker_fixup: DjangoWorkerFixup | None = None

    def install(self) -> DjangoFixup:
        """Hook into the app and the worker signals."""
        # `celery -A proj` is run from the project directory, where manage.py is.
        sys.path.insert(0, os.getcwd())
        # The loader's clock becomes Django's (an instance attribute over the method).
        self.app.loader.now = self.now  # type: ignore[method-assign]
        if not self.app._custom_task_cls_used:
            self.app.task_cls = 'celery.contrib.django.task:DjangoTask'
        signals.import_modules.connect(self.on_import_modules)
        signals.worker_init.connect(self.on_worker_init)
        return self

    @property
    def worker_fixup(self) -> DjangoWorkerFixup:
        """The part of the fixup that only applies in worker processes."""
        if self._worker_fixup is None:
            self._worker_fixup = DjangoWorkerFixup(self.app)
        return self._worker_fixup

    @worker_fixup.setter
    def worker_fixup(self, value: DjangoWorkerFixup) -> None:
        self._worker_fixup = value

    def on_import_modules(self, **kwargs: Any) -> None:
        """Set Django up (and run its checks) before task modules import models."""
        self.worker_fixup.validate_models()

    def on_worker_init(self, **kwargs: Any) -> None:
        """Install the worker part of the fixup."""
        self.worker_fixup.install()

    def now(self, utc: bool = False) -> datetime:
        """Current time: UTC when asked, else Django's ``timezone.now()``."""
        if utc:
            return datetime.now(timezone.utc)
        from django.utils import timezone as django_timezone
        now: datetime = django_timezone.now()
        return now

    def autodiscover_tasks(self) -> list[str] | None:
        """Names of the installed Django apps; None until Django is set up."""
        from django.apps import apps
        if not apps.ready:
            return None
        return [config.name for config in apps.get_app_configs()]


class DjangoWorkerFixup:
    """Database and cache connection handling for Django code run by a worker."""

    _db_recycles = 0
    #: The worker this fixup runs in, once it has started (``worker_init``).
    worker: WorkController | None = None

    def __init__(self, app: Celery) -> None:
        self.app = app
        #: Close connections only every other n-th time a task starts or ends.
        self.db_reuse_max = self.app.conf.get('CELERY_DB_REUSE_MAX', None)
        self._settings = symbol_by_name('django.conf:settings')
        self.interface_errors = (symbol_by_name('django.db.utils:InterfaceError'),)
        self.DatabaseError = symbol_by_name('django.db:DatabaseError')

    def django_setup(self) -> None:
        """Run ``django.setup()`` (loads settings and the app registry)."""
        import django
        django.setup()

    def validate_models(self) -> None:
        """Set Django up and run its system checks (unless ``CELERY_SKIP_CHECKS``)."""
        self.django_setup()
        if not os.environ.get('CELERY_SKIP_CHECKS'):
            from django.core.checks import run_checks
            # Like Celery, problems found are reported, not fatal: the worker
            # may serve only some of the project's apps.
            for message in run_checks():
                if message.is_serious() and not message.is_silenced():
                    logger.warning('Django system check: %s', message)

    def install(self) -> DjangoWorkerFixup:
        """Connect the task and process signals; drop connections made before forking."""
        signals.beat_embedded_init.connect(self.close_database)
        signals.task_prerun.connect(self.on_task_prerun)
        signals.task_postrun.connect(self.on_task_postrun)
        signals.worker_process_init.connect(self.on_worker_process_init)
        signals.worker_ready.connect(self.on_worker_ready)
        signals.worker_init.connect(self.on_worker_init)
        self.close_database()
        self.close_cache()
        return self

    def on_worker_init(self, sender: WorkController | None = None, **kwargs: Any) -> None:
        """Remember the worker being started."""
        self.worker = sender

    def on_worker_process_init(self, **kwargs: Any) -> None:
        """In a new pool child, close the connections inherited from the parent."""
        # A forked child must never share the parent's database sockets.
        self._close_database(force=True)
        self.close_cache()

    def on_task_prerun(self, sender: Task | None = None, **kwargs: Any) -> None:
        """Before a task: close connections that can no longer be used."""
        if not getattr(getattr(sender, 'request', None), 'is_eager', False):
            self.close_database()

    def on_task_postrun(self, sender: Task | None = None, **kwargs: Any) -> None:
        """After a task: close unusable connections and the caches."""
        # Eagerly applied tasks run inside the caller's request and transaction.
        if not getattr(getattr(sender, 'request', None), 'is_eager', False):
            self.close_database()
            self.close_cache()

    def close_database(self, **kwargs: Any) -> None:
        """Close unusable or obsolete connections (every ``CELERY_DB_REUSE_MAX`` calls)."""
        if not self.db_reuse_max:
            return self._close_database()
        if self._db_recycles >= self.db_reuse_max * 2:
            self._db_recycles = 0
            self._close_database()
        self._db_recycles += 1
        return None

    def _close_database(self, force: bool = False) -> None:
        from django.db import connections
        for conn in connections.all(initialized_only=True):
            try:
                if force:
                    conn.close()
                else:
                    conn.close_if_unusable_or_obsolete()
            except self.interface_errors:
                pass
            except self.DatabaseError as exc:
                if not _is_closed_error(exc):
                    raise

    def close_cache(self) -> None:
        """Close Django's cache connections."""
        try:
            from django.core.cache import close_caches
            close_caches()
        except (TypeError, AttributeError, ImportError):
            pass

    def on_worker_ready(self, **kwargs: Any) -> None:
        """Warn when ``DEBUG`` is on: Django then keeps every query in memory."""
        if self._settings.DEBUG:
            warnings.warn(W_DEBUG_LEAK, stacklevel=2)

"""Finalizing an app: its pending tasks are created and bound, task modules discovered."""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from celery._state import _announce_app_finalized
from celery.app.task_factory import ERR_NOT_FINALIZED
from celery.local import maybe_evaluate

if TYPE_CHECKING:
    from typing import TypeAlias

    from celery.app.base import Celery
    from celery.app.registry import TaskRegistry
    from celery.loaders.base import BaseLoader
    from celery.utils.dispatch import Signal

    #: Packages to autodiscover tasks in, or a function returning them.
    _Packages: TypeAlias = 'Iterable[str] | Callable[[], Iterable[str] | None] | None'

__all__ = ('AppFinalization',)


class AppFinalization:
    """Mixin of :class:`~celery.Celery`: finalizing the app and discovering task modules."""

    # Given by the other parts of :class:`~celery.Celery`.
    _tasks: TaskRegistry
    _pending: deque[object]
    _pending_autodiscovery: deque[tuple[_Packages, str]]
    _finalize_mutex: threading.RLock
    _fixups: list[object]
    _building_shared_tasks: bool
    autofinalize: bool
    finalized: bool
    on_after_finalize: Signal

    if TYPE_CHECKING:
        @property
        def loader(self) -> BaseLoader: ...

    def finalize(self, auto: bool = False) -> None:
        """Finalize the app: evaluate pending tasks and bind every task."""
        with self._finalize_mutex:
            if not self.finalized:
                app = cast('Celery', self)  # (self is the Celery app this mixin is part of)
                if auto and not self.autofinalize:
                    raise RuntimeError(ERR_NOT_FINALIZED)
                self.finalized = True
                self._building_shared_tasks = True
                try:
                    _announce_app_finalized(app)
                finally:
                    self._building_shared_tasks = False

                pending = self._pending
                while pending:
                    maybe_evaluate(pending.popleft())

                for task in self._tasks.values():
                    task.bind(app)

                self._autodiscover_pending()
                self.on_after_finalize.send(sender=self)

    @property
    def tasks(self) -> TaskRegistry:
        """Task registry (finalizes the app on first access)."""
        self.finalize(auto=True)
        return self._tasks

    def autodiscover_tasks(self, packages: _Packages = None,
                           related_name: str = 'tasks', force: bool = False) -> None:
        """Import ``<package>.<related_name>`` for each package, lazily.

        Discovery runs when the worker imports its modules or the app is
        finalized, unless ``force`` is set.  With no packages, the fixups
        name them (Django: the ``INSTALLED_APPS``, once Django is set up).
        """
        self._pending_autodiscovery.append((packages, related_name))
        if force or self.finalized:
            self._autodiscover_pending()

    def _autodiscover_pending(self, *args: object, **kwargs: object) -> None:
        not_ready = []
        while self._pending_autodiscovery:
            packages, related_name = self._pending_autodiscovery.popleft()
            names = packages() if callable(packages) else packages
            if not names:
                names = self._packages_from_fixups()
                if names is None:
                    # A fixup cannot list them yet (Django not set up): retry later.
                    not_ready.append((packages, related_name))
                    continue
            self.loader.autodiscover_tasks(names, related_name)
        self._pending_autodiscovery.extend(not_ready)

    def _packages_from_fixups(self) -> list[str] | None:
        packages: list[str] = []
        for fixup in self._fixups:
            listed: Iterable[str] | None = getattr(fixup, 'autodiscover_tasks', lambda: [])()
            if listed is None:
                return None
            packages.extend(listed)
        return packages

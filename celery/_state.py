"""Process and thread global state: the default and current app, the task stack."""
from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery.local import Proxy

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.task import Task

__all__ = (
    'set_default_app', 'get_current_app', 'get_current_task',
    'get_current_worker_task', 'current_app', 'current_task',
    'connect_on_app_finalize',
)

#: Global default app used when no current app.
default_app: Celery | None = None

#: List of all app instances (weakrefs), mustn't use list as weakref can't hold it.
_apps: weakref.WeakSet[Celery] = weakref.WeakSet()

#: Global set of functions to call whenever a new app is finalized.
_on_app_finalizers: set[Callable[[Celery], Any]] = set()

_task_join_will_block = False


class _TLS(threading.local):
    """Thread-local: the current app of this thread."""

    current_app: Celery | None = None


_tls = _TLS()


class LocalStack(threading.local):
    """A stack private to each thread (current tasks, current requests)."""

    def __init__(self) -> None:
        self.stack: list[Any] = []

    def push(self, item: Any) -> None:
        """Push ``item`` on top of this thread's stack."""
        self.stack.append(item)

    def pop(self) -> Any:
        """Remove and return the top item, or :const:`None` when empty."""
        return self.stack.pop() if self.stack else None

    @property
    def top(self) -> Any:
        """The top item, or :const:`None` when empty."""
        return self.stack[-1] if self.stack else None

    def __len__(self) -> int:
        return len(self.stack)


#: The tasks being executed by this thread, innermost last.
_task_stack = LocalStack()


def _set_task_join_will_block(blocks: bool) -> None:
    global _task_join_will_block
    _task_join_will_block = blocks


def task_join_will_block() -> bool:
    """Return True when joining a result inside this process would deadlock a worker."""
    return _task_join_will_block


def connect_on_app_finalize(callback: Callable[[Celery], Any]) -> Callable[[Celery], Any]:
    """Connect callback to be called when any app is finalized."""
    _on_app_finalizers.add(callback)
    return callback


def _announce_app_finalized(app: Celery) -> None:
    for callback in set(_on_app_finalizers):
        callback(app)


def set_default_app(app: Celery | None) -> None:
    """Set default app."""
    global default_app
    default_app = app


def _get_current_app() -> Celery:
    if default_app is None:
        # Creates the global fallback app instance.
        from celery.app.base import Celery
        set_default_app(Celery(
            'default', fixups=[], set_as_current=False,
            loader=os.environ.get('CELERY_LOADER') or 'default',
        ))
    return _tls.current_app or default_app  # type: ignore[return-value]


def _set_current_app(app: Celery | None) -> None:
    _tls.current_app = app


if os.environ.get('C_STRICT_APP'):  # pragma: no cover
    def get_current_app() -> Celery:
        """Return the current app, raising if none was set explicitly."""
        raise RuntimeError('USES CURRENT APP')
elif os.environ.get('C_WARN_APP'):  # pragma: no cover
    def get_current_app() -> Celery:
        """Return the current app, printing where it was used from."""
        import traceback
        print('-- USES CURRENT_APP', file=sys.stderr)
        traceback.print_stack(file=sys.stderr)
        return _get_current_app()
else:
    get_current_app = _get_current_app


def _app_or_default(app: Celery | None = None) -> Celery:
    return get_current_app() if app is None else app


def _app_or_default_trace(app: Celery | None = None) -> Celery:  # pragma: no cover
    from traceback import print_stack
    if app is None:
        if getattr(_tls, 'current_app', None):
            print('-- RETURNING TO CURRENT APP --', file=sys.stderr)
            print_stack(file=sys.stderr)
            return _tls.current_app  # type: ignore[return-value]
        print('-- RETURNING TO DEFAULT APP --', file=sys.stderr)
        print_stack(file=sys.stderr)
        return get_current_app()
    return app


#: Return the app given, or the current app when it is :const:`None`.
app_or_default: Callable[..., Celery] = _app_or_default


def enable_trace() -> None:
    """Print a stack trace whenever code falls back to the current/default app."""
    global app_or_default
    app_or_default = _app_or_default_trace


def disable_trace() -> None:
    """Stop tracing fallbacks to the current/default app."""
    global app_or_default
    app_or_default = _app_or_default


if os.environ.get('CELERY_TRACE_APP'):  # pragma: no cover
    enable_trace()


def get_current_task() -> Task | None:
    """Currently executing task."""
    return _task_stack.top


def get_current_worker_task() -> Task | None:
    """Currently executing task, that was applied by the worker.

    This is used to differentiate between the actual task
    executed by the worker and any task that was called within
    a task (using ``task.__call__`` or ``task.apply``)
    """
    for task in reversed(_task_stack.stack):
        if not task.request.called_directly:
            return task
    return None


#: Proxy to current app.
current_app: Celery = Proxy(get_current_app)  # type: ignore[assignment]

#: Proxy to current task.
current_task: Task = Proxy(get_current_task)  # type: ignore[assignment]


def _register_app(app: Celery) -> None:
    _apps.add(app)


def _deregister_app(app: Celery) -> None:
    _apps.discard(app)


def _get_active_apps() -> weakref.WeakSet[Celery]:
    return _apps

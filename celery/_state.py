"""Process and thread global state: the default and current app, the task stack.

An app made with ``set_as_current=True`` (the default) becomes the *current
app* of the thread that made it.  Code that is not handed an app -- a
:func:`~celery.shared_task` proxy, ``AsyncResult(id)``,
:data:`current_app` -- uses that one; a thread that never set its own sees
the *default app* instead, which is built from the environment the first
time it is needed unless one was set with :func:`set_default_app`.
"""
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

#: The app of threads that have no current app of their own.
default_app: Celery | None = None

#: Every app alive in this process, held weakly so apps can be collected.
_apps: weakref.WeakSet[Celery] = weakref.WeakSet()

#: Called with each app as it is finalized (shared tasks, built-in tasks).
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
    """Call ``callback(app)`` whenever an app is finalized; returns ``callback``."""
    _on_app_finalizers.add(callback)
    return callback


def _announce_app_finalized(app: Celery) -> None:
    # A copy: a callback may register more callbacks (a shared task defined
    # while importing a module that another callback imports).
    for callback in set(_on_app_finalizers):
        callback(app)


def set_default_app(app: Celery | None) -> None:
    """Make ``app`` the app of every thread that has no current app of its own."""
    global default_app
    default_app = app


def _make_fallback_app() -> Celery:
    from celery.app.base import Celery
    # Configured from the environment only: nothing in this process said
    # which app to use.  Fix-ups stay off so merely asking for the current
    # app cannot, say, set up Django.
    return Celery('default', fixups=[], set_as_current=False,
                  loader=os.environ.get('CELERY_LOADER') or 'default')


def _get_current_app() -> Celery:
    own = _tls.current_app
    if own is not None:
        return own
    if default_app is None:
        set_default_app(_make_fallback_app())
    return default_app  # type: ignore[return-value]


def _set_current_app(app: Celery | None) -> None:
    _tls.current_app = app


def _report_stack(headline: str) -> None:
    import traceback
    print(headline, file=sys.stderr)
    traceback.print_stack(file=sys.stderr)


# Debugging switches read once at import: C_STRICT_APP makes any implicit
# use of the current app fail, C_WARN_APP prints where it happens.
if os.environ.get('C_STRICT_APP'):  # pragma: no cover
    def get_current_app() -> Celery:
        """Refuse to return the current app (``C_STRICT_APP`` is set)."""
        raise RuntimeError('USES CURRENT APP')
elif os.environ.get('C_WARN_APP'):  # pragma: no cover
    def get_current_app() -> Celery:
        """Return the current app, printing where it was asked for."""
        _report_stack('-- USES CURRENT_APP')
        return _get_current_app()
else:
    get_current_app = _get_current_app


def _app_or_default(app: Celery | None = None) -> Celery:
    return get_current_app() if app is None else app


def _in_main_process() -> bool:
    try:
        from billiard.process import current_process
    except ImportError:  # pragma: no cover
        from multiprocessing import current_process
    name: str = current_process().name
    return name == 'MainProcess'


def _app_or_default_trace(app: Celery | None = None) -> Celery:
    """:func:`app_or_default` that reports every fallback (``CELERY_TRACE_APP``)."""
    if app is not None:
        return app
    own = _tls.current_app
    if own is not None:
        _report_stack('-- RETURNING TO CURRENT APP --')
        return own
    if _in_main_process():
        # The main process is where the app chain is built: falling back to
        # the default app there is the bug being traced.
        raise RuntimeError(
            'DEFAULT APP: code fell back to the default app (CELERY_TRACE_APP '
            'is set); pass the app explicitly.')
    _report_stack('-- RETURNING TO DEFAULT APP --')
    return _get_current_app()


#: The app given, or the current app when it is :const:`None`.
app_or_default: Callable[..., Celery] = _app_or_default


def enable_trace() -> None:
    """Report every fallback to the current or default app (see ``CELERY_TRACE_APP``)."""
    global app_or_default
    app_or_default = _app_or_default_trace


def disable_trace() -> None:
    """Stop reporting fallbacks to the current or default app."""
    global app_or_default
    app_or_default = _app_or_default


if os.environ.get('CELERY_TRACE_APP'):  # pragma: no cover
    enable_trace()


def get_current_task() -> Task | None:
    """Return the task this thread is executing, or :const:`None`."""
    task: Task | None = _task_stack.top
    return task


def get_current_worker_task() -> Task | None:
    """Return the innermost task of this thread that a worker executes.

    Tasks called directly from inside it (``task()`` or ``task.apply()``)
    run on the same stack but are skipped: they were not sent as messages.
    """
    stack: list[Task] = _task_stack.stack
    for index in range(len(stack) - 1, -1, -1):
        if not stack[index].request.called_directly:
            return stack[index]
    return None


#: The current app of this thread (see the module docstring).
current_app: Celery = Proxy(get_current_app)  # type: ignore[assignment]

#: The task this thread is executing.
current_task: Task = Proxy(get_current_task)  # type: ignore[assignment]


def _register_app(app: Celery) -> None:
    _apps.add(app)


def _deregister_app(app: Celery) -> None:
    _apps.discard(app)


def _get_active_apps() -> weakref.WeakSet[Celery]:
    return _apps

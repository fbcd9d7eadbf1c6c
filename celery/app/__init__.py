"""Celery application: ``shared_task`` and current/default app helpers."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import _state
from celery._state import (
    app_or_default,
    connect_on_app_finalize,
    current_app,
    current_task,
    disable_trace,
    enable_trace,
    get_current_app,
)
from celery.local import Proxy

__all__ = (
    'Celery', 'app_or_default', 'default_app', 'current_app', 'current_task',
    'bugreport', 'enable_trace', 'disable_trace', 'shared_task',
    'push_current_task', 'pop_current_task', 'connect_on_app_finalize',
)

#: Proxy always returning the app set as default.
default_app = Proxy(lambda: _state.default_app)


def __getattr__(name: str) -> Any:
    if name == 'Celery':
        from celery.app.base import Celery
        return Celery
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def bugreport(app: Any = None) -> str:
    """Return information useful in bug reports."""
    return (app or get_current_app()).bugreport()


def push_current_task(task: Any) -> None:
    """Push ``task`` as the current task of this thread."""
    _state._task_stack.push(task)


def pop_current_task() -> Any:
    """Pop the current task of this thread."""
    return _state._task_stack.pop()


def shared_task(*args: Any, **kwargs: Any) -> Any:
    """Create shared task (decorator).

    The task is registered with every app (current and future), and the
    returned proxy uses the current app: reusable apps and libraries use it
    so they don't depend on a concrete app instance.
    """
    def create_shared_task(**options: Any) -> Callable[[Callable], Any]:

        def __inner(fun: Callable) -> Any:
            name = options.get('name')
            # Apps finalized later register the task through this hook...
            _state.connect_on_app_finalize(
                lambda app: app._task_from_fun(fun, **options)
            )
            # ...and apps already finalized register it now.
            for app in _state._get_active_apps():
                if app.finalized:
                    with app._finalize_mutex:
                        app._task_from_fun(fun, **options)

            def task_by_cons() -> Any:
                app = _state.get_current_app()
                return app.tasks[
                    name or app.gen_task_name(fun.__name__, fun.__module__)
                ]
            return Proxy(task_by_cons)
        return __inner

    if len(args) == 1 and callable(args[0]):
        return create_shared_task(**kwargs)(args[0])
    return create_shared_task(*args, **kwargs)


"""Celery application: ``shared_task`` and current/default app helpers."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

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
from celery._typing import P, R
from celery.local import Proxy
from celery.utils.lazy_names import lazy_module_getattr

if TYPE_CHECKING:
    from typing import Concatenate, Literal

    from celery.app.base import Celery
    from celery.app.task import Task

__all__ = (
    'Celery', 'AppPickler', 'app_or_default', 'default_app', 'current_app',
    'current_task', 'bugreport', 'enable_trace', 'disable_trace', 'shared_task',
    'push_current_task', 'pop_current_task', 'connect_on_app_finalize',
)

#: Proxy always returning the app set as default.
default_app = Proxy(lambda: _state.default_app)

#: Names defined in heavier modules, imported on first use.
_LAZY_NAMES = {
    'Celery': 'celery.app.base',
    'AppPickler': 'celery.app.pickling',
}


__getattr__ = lazy_module_getattr(__name__, _LAZY_NAMES, globals())


def bugreport(app: Celery | None = None) -> str:
    """Return information useful in bug reports."""
    return (app or get_current_app()).bugreport()


def push_current_task(task: Task) -> None:
    """Push ``task`` as the current task of this thread."""
    _state._task_stack.push(task)


def pop_current_task() -> Task | None:
    """Pop the current task of this thread."""
    task: Task | None = _state._task_stack.pop()
    return task


class _SharedTask:
    """One function shared by every app: builds its task on any app, finds it on the current one."""

    def __init__(self, fun: Callable[..., Any], options: dict[str, Any]) -> None:
        self.fun = fun
        self.options = options

    def build_on(self, app: Celery) -> Task:
        """Register the task on ``app`` (a no-op when it is there already)."""
        return app._task_from_fun(self.fun, **self.options)

    def name_on(self, app: Celery) -> str:
        """The task's name on ``app``: apps may name tasks their own way."""
        return self.options.get('name') or app.gen_task_name(
            self.fun.__name__, self.fun.__module__)

    def on_current_app(self) -> Task:
        """The task as registered on the current app (finalizing it if needed)."""
        app = get_current_app()
        return app.tasks[self.name_on(app)]

    def share(self) -> Proxy[Task[Any, Any]]:
        """Register on every app, now and to come; return the current-app proxy."""
        # Apps finalized from now on build it with their other tasks...
        connect_on_app_finalize(self.build_on)
        # ...and apps already finalized won't finalize again, so build it there now.
        for app in list(_state._get_active_apps()):
            if app.finalized:
                with app._finalize_mutex:
                    self.build_on(app)
        return Proxy(self.on_current_app)


# For type checkers, as on ``app.task``: the proxy stands for a ``Task[P, R]``.
@overload
def shared_task(fun: Callable[P, R], /) -> Task[P, R]: ...


@overload
def shared_task(*, bind: Literal[True], name: str | None = ...,
                base: type[Task[Any, Any]] | None = ..., pydantic: bool = ...,
                **options: Any) -> Callable[[Callable[Concatenate[Any, P], R]], Task[P, R]]: ...


@overload
def shared_task(*, bind: Literal[False] = ..., name: str | None = ...,
                base: type[Task[Any, Any]] | None = ..., pydantic: bool = ...,
                **options: Any) -> Callable[[Callable[P, R]], Task[P, R]]: ...


@overload
def shared_task(*, bind: bool, name: str | None = ...,
                base: type[Task[Any, Any]] | None = ..., pydantic: bool = ...,
                **options: Any) -> Callable[[Callable[..., R]], Task[..., R]]: ...


def shared_task(*args: Any, **kwargs: Any) -> object:
    """Create a task on every app (decorator); the result uses the current app's task.

    For libraries and reusable apps (Django apps) that cannot import the
    project's app: ``@shared_task`` and ``@shared_task(**options)`` return
    a proxy that resolves to ``current_app.tasks[name]`` on each use.
    """
    if len(args) == 1 and callable(args[0]):
        return _SharedTask(args[0], kwargs).share()
    if args:
        raise TypeError(f'shared_task() takes keyword options only, got {args!r}')

    def decorate(fun: Callable[..., Any]) -> Proxy[Task[Any, Any]]:
        return _SharedTask(fun, kwargs).share()
    return decorate

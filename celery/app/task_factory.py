"""How an app turns functions and classes into registered tasks (``@app.task``)."""
from __future__ import annotations

import os
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, cast, overload

from celery._state import connect_on_app_finalize
from celery._typing import P, R
from celery.local import PromiseProxy
from celery.utils.functional import head_from_fun
from celery.utils.imports import gen_task_name

if TYPE_CHECKING:
    from typing import Concatenate, Literal

    from celery.app.base import Celery
    from celery.app.registry import TaskRegistry
    from celery.app.task import Task

    # The class attribute ``Task`` (the app's base class) hides the module's name.
    from celery.app.task import Task as TaskT

__all__ = (
    'AppTaskFactory', 'USING_EXECV', 'W_DUPTASK', 'caller_stacklevel',
    'frame_is_celery', 'task_callable_qualname',
)

#: Set in processes that billiard started with ``execv`` rather than a
#: fork: their task modules were imported afresh, so a task object made at
#: import belongs to another app instance than the one that runs it.
USING_EXECV = os.environ.get('FORKED_BY_MULTIPROCESSING')

ERR_NOT_FINALIZED = (
    'Contract breach: app not finalized. The app was created with '
    'autofinalize=False: call app.finalize() before using its tasks.')

W_DUPTASK = (
    'A task named {name!r} is already registered ({existing}); {new} was '
    'not registered under that name.  Give one of them another name '
    '(@app.task(name=...)).')


def frame_is_celery(frame: FrameType) -> bool:
    """Return True if ``frame`` runs code of the :mod:`celery` package itself."""
    module = frame.f_globals.get('__name__') or ''
    return module == 'celery' or module.startswith('celery.')


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside Celery.

    Counted from the function calling this one (level 1).
    """
    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame_is_celery(frame):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def task_callable_qualname(task: Task[Any, Any]) -> str:
    """The module-qualified name of the function or method a task runs."""
    run = task.run
    run = getattr(run, '__func__', run)  # a bound task's run is a method
    return f'{run.__module__}.{run.__qualname__}'


def _qualname_of(fun: Callable[..., Any]) -> str:
    return f'{fun.__module__}.{fun.__qualname__}'


class AppTaskFactory:
    """Mixin giving :class:`~celery.Celery` its task decorator and task registration."""

    _tasks: TaskRegistry
    _pending: deque[object]
    _finalize_mutex: threading.RLock
    autofinalize: bool
    finalized: bool
    main: str | None
    Task: type[TaskT[Any, Any]]

    if TYPE_CHECKING:
        @property
        def tasks(self) -> TaskRegistry: ...

    #: True while tasks shared by every app are built (at finalize).
    _building_shared_tasks = False

    # The overloads are for type checkers: ``@app.task`` on
    # ``def add(x: int, y: int) -> int`` gives a ``TaskT[[int, int], int]``.
    # Options other than the named ones are Task attributes (of any type).
    @overload
    def task(self, fun: Callable[P, R], /) -> TaskT[P, R]: ...

    @overload
    def task(self, *, bind: Literal[True], name: str | None = ...,
             base: type[TaskT[Any, Any]] | None = ..., shared: bool = ..., lazy: bool = ...,
             filter: Callable[[TaskT[Any, Any]], Any] | None = ..., pydantic: bool = ...,
             **options: Any) -> Callable[[Callable[Concatenate[Any, P], R]], TaskT[P, R]]: ...

    @overload
    def task(self, *, bind: Literal[False] = ..., name: str | None = ...,
             base: type[TaskT[Any, Any]] | None = ..., shared: bool = ..., lazy: bool = ...,
             filter: Callable[[TaskT[Any, Any]], Any] | None = ..., pydantic: bool = ...,
             **options: Any) -> Callable[[Callable[P, R]], TaskT[P, R]]: ...

    @overload
    def task(self, *, bind: bool, name: str | None = ...,
             base: type[TaskT[Any, Any]] | None = ..., shared: bool = ..., lazy: bool = ...,
             filter: Callable[[TaskT[Any, Any]], Any] | None = ..., pydantic: bool = ...,
             **options: Any) -> Callable[[Callable[..., R]], TaskT[..., R]]: ...

    def task(self, *args: Any, **opts: Any) -> object:
        """Decorator to create a task class out of any callable.

        Options: ``name``, ``base``, ``bind``, ``shared`` (default True:
        every app gets the task when finalized), ``lazy`` (default True:
        on an app not yet finalized, return a proxy that creates the task
        on first use), ``filter`` (called with the result), ``pydantic``
        and any :class:`~celery.app.task.Task` attribute.
        """
        if USING_EXECV and opts.get('lazy', True):
            # The module-level task object would belong to the app made at
            # import, not the worker's: resolve it through the current app.
            from celery.app import shared_task
            return shared_task(*args, **dict(opts, lazy=False))
        if len(args) == 1 and callable(args[0]):
            return self._task_decorator(**opts)(args[0])
        if len(args) == 1:
            raise TypeError('argument 1 to @task() must be a callable')
        if args:
            raise TypeError(
                f'@task() takes exactly 1 argument ({len(args) + len(opts)} given)')
        return self._task_decorator(**opts)

    def _task_decorator(self, shared: bool = True,
                        filter: Callable[[Any], object] | None = None, lazy: bool = True,
                        **opts: Any) -> Callable[[Callable[..., Any]], object]:
        def decorate(fun: Callable[..., Any]) -> object:
            if shared:
                self._share_task(fun, opts)
            task: Any
            if lazy and not self.finalized:
                # Created on first use, so the app can still be configured.
                task = PromiseProxy(self._task_from_fun, (fun,), opts, __doc__=fun.__doc__)
                self._pending.append(task)
            else:
                task = self._task_from_fun(fun, **opts)
            return filter(task) if filter else task
        return decorate

    @staticmethod
    def _share_task(fun: Callable[..., Any], opts: dict[str, Any]) -> None:
        def build_on(app: Celery) -> TaskT[Any, Any]:
            return app._task_from_fun(fun, **opts)
        build_on.__name__ = fun.__name__
        connect_on_app_finalize(build_on)

    def type_checker(self, fun: Callable[..., Any], bound: bool = False
                     ) -> staticmethod[..., int]:
        """Return a function with ``fun``'s signature that only checks arguments."""
        return staticmethod(head_from_fun(fun, bound=bound))

    def _task_from_fun(self, fun: Callable[..., Any], name: str | None = None,
                       base: type[TaskT[Any, Any]] | None = None,
                       bind: bool = False, pydantic: bool = False,
                       pydantic_strict: bool = False,
                       pydantic_context: dict[str, Any] | None = None,
                       pydantic_dump_kwargs: dict[str, Any] | None = None,
                       **options: Any) -> TaskT[Any, Any]:
        if not self.finalized and not self.autofinalize:
            raise RuntimeError(ERR_NOT_FINALIZED)
        name = name or self.gen_task_name(fun.__name__, fun.__module__)
        existing = self._tasks.get(name)
        if existing is not None:
            self._warn_if_other_function(existing, fun)
            return existing
        run = fun
        if pydantic:
            from celery.app.pydantic_args import pydantic_wrapper
            run = pydantic_wrapper(self, fun, name, strict=pydantic_strict,  # type: ignore[arg-type]
                                   context=pydantic_context, dump_kwargs=pydantic_dump_kwargs)
        return self._create_task(fun, run if bind else staticmethod(run), name,
                                 base or self.Task, bind, options)

    def _create_task(self, fun: Callable[..., Any], run: object, name: str,
                     base: type[TaskT[Any, Any]],
                     bind: bool, options: dict[str, Any]) -> TaskT[Any, Any]:
        attrs = {
            'app': self,
            'name': name,
            'run': run,
            '_decorated': True,
            '__doc__': fun.__doc__,
            '__module__': fun.__module__,
            '__annotations__': getattr(fun, '__annotations__', {}),
            '__header__': self.type_checker(fun, bound=bind),
            '__wrapped__': run,
        }
        attrs.update(options)
        task_type = type(fun.__name__, (base,), attrs)
        # type() takes the class name only; the qualified name is set afterwards.
        task_type.__qualname__ = fun.__qualname__
        task: TaskT[Any, Any] = task_type()
        self._tasks[name] = task
        task.bind(cast('Celery', self))  # (self is the Celery app this mixin is part of)
        from celery.app.autoretry import add_autoretry_behaviour
        add_autoretry_behaviour(task, **options)
        return task

    def _warn_if_other_function(self, existing: TaskT[Any, Any], fun: Callable[..., Any]) -> None:
        # The same function comes back here on purpose (shared tasks are
        # built on every finalize); only another function is a mistake.
        # Tasks shared by every app are not this app's doing: a clash among
        # them would otherwise be reported again by each app made later.
        if self._building_shared_tasks:
            return
        existing_name = task_callable_qualname(existing)
        if existing_name != _qualname_of(fun):
            from celery.exceptions import DuplicateTaskNameWarning
            warnings.warn(DuplicateTaskNameWarning(W_DUPTASK.format(
                name=existing.name, existing=existing_name, new=_qualname_of(fun))),
                stacklevel=caller_stacklevel())

    def register_task(self, task: TaskT[Any, Any] | type[TaskT[Any, Any]],
                      **options: Any) -> TaskT[Any, Any]:
        """Register a class-based task (a :class:`~celery.app.task.Task` subclass or instance)."""
        if task.name is None:
            task_cls = task if isinstance(task, type) else type(task)
            # getattr: to a checker, Task.__name__ is the instances' property.
            class_name: str = getattr(task_cls, '__name__')  # noqa: B009
            task.name = self.gen_task_name(class_name, task_cls.__module__)
        if isinstance(task, type):
            task = task()
        from celery.app.autoretry import add_autoretry_behaviour
        add_autoretry_behaviour(task, **options)
        app = cast('Celery', self)  # (self is the Celery app this mixin is part of)
        self.tasks[task._registered_name()] = task
        task._app = app
        task.bind(app)
        return task

    def gen_task_name(self, name: str, module: str) -> str:
        """Return the task name used for function ``name`` in ``module``."""
        return gen_task_name(self, name, module)

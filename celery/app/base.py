"""The Celery application: configuration, task registry, and sending tasks."""
from __future__ import annotations

import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from celery import _state, signals
from celery._state import (
    _announce_app_finalized,
    _deregister_app,
    _register_app,
    _set_current_app,
    connect_on_app_finalize,
    get_current_app,
    get_current_worker_task,
    set_default_app,
)
from celery.app import builtins  # noqa: F401 - registers the built-in tasks
from celery.app.components import AppComponents
from celery.app.config import AppConfiguration
from celery.app.connections import AppConnections
from celery.app.registry import TaskRegistry
from celery.exceptions import AlwaysEagerIgnored
from celery.local import PromiseProxy, maybe_evaluate
from celery.utils import uuid
from celery.utils.dispatch import Signal
from celery.utils.functional import head_from_fun, maybe_list
from celery.utils.imports import gen_task_name, symbol_by_name

if TYPE_CHECKING:
    from kombu import Connection

    from celery.app.task import Task
    from celery.result import AsyncResult

__all__ = ('Celery',)

ERR_NOT_FINALIZED = (
    'Contract breach: app not finalized. The app was created with '
    'autofinalize=False: call app.finalize() before using its tasks.')

#: Built-in fixups applied to every app (activated only when relevant).
BUILTIN_FIXUPS = {'celery.fixups.django:fixup'}


def _unpickle_appattr(reverse_name: str, args: tuple) -> Any:
    """Unpickle app attribute created by :meth:`Celery.subclass_with_self`."""
    return get_current_app()._rgetattr(reverse_name)(*args)


def _after_fork_cleanup_apps() -> None:
    for app in list(_state._get_active_apps()):
        app._after_fork()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_cleanup_apps)


class _ThreadLocal(threading.local):
    """Per-thread state of an app: result backend and rpc reply queue name."""

    backend: Any = None
    thread_oid: str | None = None


class Celery(AppConfiguration, AppConnections, AppComponents):
    """Celery application.

    Arguments:
        main: name of the main module if running as ``__main__``; used as
            the prefix of auto-generated task names.
    """

    SYSTEM = os.name
    IS_macOS = SYSTEM == 'darwin'
    IS_WINDOWS = SYSTEM == 'nt'

    #: Execute tasks in pool children through the lean tracer (set by the worker).
    use_fast_trace_task = False

    amqp_cls = 'celery.app.amqp:AMQP'
    backend_cls: str | None = None
    events_cls = 'celery.app.events:Events'
    loader_cls: str | None = None
    log_cls = 'celery.app.log:Logging'
    control_cls = 'celery.app.control:Control'
    task_cls = 'celery.app.task:Task'
    registry_cls: Any = 'celery.app.registry:TaskRegistry'

    #: Thread local storage.
    _local: _ThreadLocal
    _fixups: list[Any]
    _pool = None
    _conf = None

    #: Signal sent when app is loading configuration.
    on_configure: Signal
    #: Signal sent after app has prepared the configuration.
    on_after_configure: Signal
    #: Signal sent after app has been finalized.
    on_after_finalize: Signal
    #: Signal sent by every new process after fork.
    on_after_fork: Signal

    def __init__(self, main: str | None = None, loader: Any = None, backend: Any = None,
                 amqp: Any = None, events: Any = None, log: Any = None, control: Any = None,
                 set_as_current: bool = True, tasks: Any = None, broker: str | None = None,
                 include: Iterable[str] | None = None, changes: dict | None = None,
                 config_source: Any = None, fixups: Iterable[str] | None = None,
                 task_cls: Any = None, autofinalize: bool = True,
                 namespace: str | None = None, strict_typing: bool = True,
                 **kwargs: Any) -> None:
        self._local = _ThreadLocal()
        self.clock_value = 0
        self.main = main
        self.amqp_cls = amqp or self.amqp_cls
        self.events_cls = events or self.events_cls
        self.loader_cls = loader or self._get_default_loader()
        self.log_cls = log or self.log_cls
        self.control_cls = control or self.control_cls
        self._custom_task_cls_used = bool(task_cls) or 'Task' in type(self).__dict__
        self.task_cls = task_cls or self.task_cls
        self.set_as_current = set_as_current
        self.registry_cls = symbol_by_name(self.registry_cls)
        self.user_options: dict[str, set] = {
            'worker': set(), 'beat': set(), 'events': set(), 'preload': set()}
        self.steps: dict[str, set] = {'worker': set(), 'consumer': set()}
        self.autofinalize = autofinalize
        self.namespace = namespace
        self.strict_typing = strict_typing

        self.configured = False
        self._config_lock = threading.RLock()
        self._config_source = config_source
        self._pending_defaults: deque[Callable[[], Any]] = deque()
        self._pending_periodic_tasks: deque[tuple[Any, ...]] = deque()
        self._pending_autodiscovery: deque[tuple[Any, str]] = deque()

        self.finalized = False
        self._finalize_mutex = threading.RLock()
        self._pending: deque[Any] = deque()
        self._tasks = tasks
        if not isinstance(self._tasks, TaskRegistry):
            self._tasks = self.registry_cls(self._tasks or {})

        self._preconf: dict[str, Any] = {}
        self._preconf_set_by_auto: set[str] = set()
        self.__autoset('broker_url', broker)
        self.__autoset('result_backend', backend)
        self.__autoset('include', tuple(include) if include else None)
        for key, value in kwargs.items():
            self.__autoset(key, value)
        if changes:
            self._preconf.update(changes)

        self.fixups = set(BUILTIN_FIXUPS if fixups is None else fixups)
        self._fixups = [symbol_by_name(fixup)(self) for fixup in self.fixups]

        self.on_configure = Signal(name='app.on_configure')
        self.on_after_configure = Signal(name='app.on_after_configure',
                                         providing_args={'source'})
        self.on_after_finalize = Signal(name='app.on_after_finalize')
        self.on_after_fork = Signal(name='app.on_after_fork')

        # Bound methods are weakly referenced: keep them reachable.
        self._on_import_modules = self._autodiscover_pending
        signals.import_modules.connect(self._on_import_modules, sender=self)

        self.on_init()
        _register_app(self)

    def _get_default_loader(self) -> str:
        # The --loader command-line option sets this environment variable.
        return os.environ.get('CELERY_LOADER') or self.loader_cls or 'celery.loaders.app:AppLoader'

    def on_init(self) -> None:
        """Optional callback called at init."""

    def __autoset(self, key: str, value: Any) -> None:
        if value is not None:
            self._preconf[key] = value
            self._preconf_set_by_auto.add(key)

    # -- current/default app ------------------------------------------------

    def set_current(self) -> None:
        """Make this the current app for this thread."""
        _set_current_app(self)

    def set_default(self) -> None:
        """Make this the default app for all threads."""
        set_default_app(self)

    def close(self) -> None:
        """Clean up after the application: close its connection pools."""
        amqp = self.__dict__.get('amqp')
        if amqp is not None and amqp._producer_pool is not None:
            amqp._producer_pool.force_close_all()
            amqp._producer_pool = None
        if self._pool is not None:
            self._pool.force_close_all()
            self._pool = None
        _deregister_app(self)

    def __enter__(self) -> Celery:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def start(self, argv: list[str] | None = None) -> None:
        """Run :program:`celery` using ``argv`` (defaults to :data:`sys.argv`)."""
        import sys

        from celery.bin.celery import celery
        celery.params[0].default = self
        if argv is None:
            argv = sys.argv
        if argv and os.path.basename(argv[0]) in ('celery', '__main__.py'):
            argv = argv[1:]
        try:
            celery.main(args=argv, standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise

    def worker_main(self, argv: list[str] | None = None) -> None:
        """Run :program:`celery worker` using ``argv``."""
        import sys
        if argv is None:
            argv = sys.argv
        if 'worker' not in argv:
            raise ValueError(
                'The worker sub-command must be specified in argv.\n'
                'Use app.start() to programmatically start other commands.')
        self.start(argv=argv)

    # -- tasks -------------------------------------------------------------

    def task(self, *args: Any, **opts: Any) -> Any:
        """Decorator to create a task class out of any callable."""
        def inner_create_task_cls(shared: bool = True, filter: Callable | None = None,
                                  lazy: bool = True, **opts: Any) -> Callable[[Callable], Any]:
            def _create_task_cls(fun: Callable) -> Any:
                if shared:
                    def cons(app: Celery) -> Task:
                        return app._task_from_fun(fun, **opts)
                    cons.__name__ = fun.__name__
                    connect_on_app_finalize(cons)
                if not lazy or self.finalized:
                    ret = self._task_from_fun(fun, **opts)
                else:
                    # Created on first use, so the app can be configured first.
                    ret = PromiseProxy(self._task_from_fun, (fun,), opts,
                                       __doc__=fun.__doc__)
                    self._pending.append(ret)
                if filter:
                    return filter(ret)
                return ret
            return _create_task_cls

        if len(args) == 1:
            if callable(args[0]):
                return inner_create_task_cls(**opts)(*args)
            raise TypeError('argument 1 to @task() must be a callable')
        if args:
            raise TypeError(
                f'@task() takes exactly 1 argument ({len(args) + len(opts)} given)')
        return inner_create_task_cls(**opts)

    def type_checker(self, fun: Callable, bound: bool = False) -> Callable:
        """Return a function with ``fun``'s signature that only checks arguments."""
        return staticmethod(head_from_fun(fun, bound=bound))  # type: ignore[return-value]

    def _task_from_fun(self, fun: Callable, name: str | None = None, base: type | None = None,
                       bind: bool = False, **options: Any) -> Task:
        if not self.finalized and not self.autofinalize:
            raise RuntimeError(ERR_NOT_FINALIZED)
        name = name or self.gen_task_name(fun.__name__, fun.__module__)
        base = base or self.Task

        if name not in self._tasks:
            run = fun if bind else staticmethod(fun)
            task = type(fun.__name__, (base,), dict({
                'app': self,
                'name': name,
                'run': run,
                '_decorated': True,
                '__doc__': fun.__doc__,
                '__module__': fun.__module__,
                '__annotations__': getattr(fun, '__annotations__', {}),
                '__header__': self.type_checker(fun, bound=bind),
                '__wrapped__': run}, **options))()
            # type() takes the class name only; the qualified name is set afterwards.
            type(task).__qualname__ = fun.__qualname__
            self._tasks[task.name] = task
            task.bind(self)
            from celery.app.autoretry import add_autoretry_behaviour
            add_autoretry_behaviour(task, **options)
        else:
            task = self._tasks[name]
        return task

    def register_task(self, task: Any, **options: Any) -> Task:
        """Register a class-based task (an instance or subclass of :class:`~celery.app.task.Task`)."""
        if task.name is None:
            task_cls = task if isinstance(task, type) else type(task)
            task.name = self.gen_task_name(task_cls.__name__, task_cls.__module__)
        if isinstance(task, type):
            task = task()
        from celery.app.autoretry import add_autoretry_behaviour
        add_autoretry_behaviour(task, **options)
        self.tasks[task.name] = task
        task._app = self
        task.bind(self)
        return task

    def gen_task_name(self, name: str, module: str) -> str:
        """Return the task name used for function ``name`` in ``module``."""
        return gen_task_name(self, name, module)

    def finalize(self, auto: bool = False) -> None:
        """Finalize the app: evaluate pending tasks and bind every task."""
        with self._finalize_mutex:
            if not self.finalized:
                if auto and not self.autofinalize:
                    raise RuntimeError(ERR_NOT_FINALIZED)
                self.finalized = True
                _announce_app_finalized(self)

                pending = self._pending
                while pending:
                    maybe_evaluate(pending.popleft())

                for task in self._tasks.values():
                    task.bind(self)

                self._autodiscover_pending()
                self.on_after_finalize.send(sender=self)

    @property
    def tasks(self) -> TaskRegistry:
        """Task registry (finalizes the app on first access)."""
        self.finalize(auto=True)
        return self._tasks

    def autodiscover_tasks(self, packages: Iterable[str] | Callable[[], Iterable[str]] | None = None,
                           related_name: str = 'tasks', force: bool = False) -> None:
        """Import ``<package>.<related_name>`` for each package, lazily.

        Discovery runs when the worker imports its modules or the app is
        finalized, unless ``force`` is set.
        """
        self._pending_autodiscovery.append((packages, related_name))
        if force or self.finalized:
            self._autodiscover_pending()

    def _autodiscover_pending(self, *args: Any, **kwargs: Any) -> None:
        while self._pending_autodiscovery:
            packages, related_name = self._pending_autodiscovery.popleft()
            if callable(packages):
                packages = packages()
            self.loader.autodiscover_tasks(packages or (), related_name)

    # -- sending tasks -----------------------------------------------------

    def send_task(self, name: str, args: Any = None, kwargs: Any = None,
                  countdown: float | None = None, eta: datetime | None = None,
                  task_id: str | None = None, producer: Any = None,
                  connection: Connection | None = None, router: Any = None,
                  result_cls: Any = None, expires: Any = None, publisher: Any = None,
                  link: Any = None, link_error: Any = None, add_to_parent: bool = True,
                  group_id: str | None = None, group_index: int | None = None,
                  retries: int = 0, chord: Any = None, reply_to: str | None = None,
                  time_limit: float | None = None, soft_time_limit: float | None = None,
                  root_id: str | None = None, parent_id: str | None = None,
                  route_name: str | None = None, shadow: str | None = None,
                  chain: Any = None, task_type: Any = None,
                  replaced_task_nesting: int = 0, **options: Any) -> AsyncResult:
        """Send task by name, without needing the task registered locally."""
        parent = None
        have_parent = False
        amqp = self.amqp
        task_id = task_id or uuid()
        producer = producer or publisher
        router = router or amqp.router
        conf = self.conf
        if conf.task_always_eager:  # pragma: no cover
            warnings.warn(AlwaysEagerIgnored(
                'task_always_eager has no effect on send_task'), stacklevel=2)

        ignore_result = options.pop('ignore_result', False)
        options = router.route(options, route_name or name, args, kwargs, task_type)

        if not root_id or not parent_id:
            parent = get_current_worker_task()
            have_parent = True
            if parent:
                request = parent.request
                if not root_id:
                    root_id = request.root_id or request.id
                if not parent_id:
                    parent_id = request.id
                if conf.task_inherit_parent_priority:
                    options.setdefault(
                        'priority', (request.delivery_info or {}).get('priority'))

        message = amqp.create_task_message(
            task_id, name, args, kwargs, countdown, eta, group_id, group_index,
            expires, retries, chord,
            maybe_list(link), maybe_list(link_error),
            reply_to or self.thread_oid, time_limit, soft_time_limit,
            conf.task_send_sent_event,
            root_id, parent_id, shadow, chain,
            ignore_result=ignore_result,
            replaced_task_nesting=replaced_task_nesting, **options)

        with self.producer_or_acquire(producer) as P:
            if not ignore_result:
                self.backend.on_task_call(P, task_id)
            amqp.send_task_message(P, name, message, **options)
        result = (result_cls or self.AsyncResult)(task_id)
        # Set after construction: custom result classes may not accept it.
        result.ignored = ignore_result
        if add_to_parent:
            if not have_parent:
                parent = get_current_worker_task()
            if parent:
                parent.add_trail(result)
        return result

    def _after_fork(self) -> None:
        # Connections must not be shared with the parent process: let go of
        # our copies without closing theirs.
        pool, self._pool = self._pool, None
        amqp = self.__dict__.get('amqp')
        producers = amqp._producer_pool if amqp is not None else None
        if producers is not None:
            amqp._producer_pool = None
        if pool is not None or producers is not None:
            # Imported already: it made these pools.
            from celery.app.pools import drop_in_child
            drop_in_child(pool)
            drop_in_child(producers and producers.connections)
        backend = self._local.backend
        self._local = _ThreadLocal()
        if backend is not None and backend.survives_fork:
            # Kept rather than built again: its objects stay shared with the
            # parent's pages instead of being copied into every pool child.
            backend.on_after_fork()
            self._local.backend = backend
        self.on_after_fork.send(sender=self)

    # -- misc --------------------------------------------------------------

    def now(self) -> datetime:
        """Return the current time and date as a datetime in the app's time zone."""
        return datetime.now(timezone.utc).astimezone(self.timezone)

    def uses_utc_timezone(self) -> bool:
        """Check if the application uses the UTC timezone."""
        return self.timezone == timezone.utc or str(self.timezone) == 'UTC'

    @cached_property
    def timezone(self) -> Any:
        """Current timezone for this app (:setting:`timezone`, UTC by default)."""
        from celery.utils.time import timezone as tz
        conf = self.conf
        if not conf.timezone:
            return tz.utc if conf.enable_utc else tz.local
        return tz.get_timezone(conf.timezone)

    def signature(self, *args: Any, **kwargs: Any) -> Any:
        """Return a new :class:`~celery.Signature` bound to this app."""
        from celery.canvas import signature
        kwargs['app'] = self
        return signature(*args, **kwargs)

    def bugreport(self) -> str:
        """Return information useful in bug reports."""
        from celery.app.utils import bugreport
        return bugreport(self)

    def setup_security(self, allowed_serializers: Iterable[str] | None = None,
                       key: str | None = None, key_password: str | bytes | None = None,
                       cert: str | None = None, store: str | None = None,
                       digest: str = 'sha256', serializer: str = 'json') -> None:
        """Sign task messages with the ``auth`` serializer (see :mod:`celery.security`)."""
        from celery.security import setup_security
        return setup_security(allowed_serializers, key, key_password, cert, store,
                              digest, serializer, app=self)

    def select_queues(self, queues: Iterable[str] | None = None) -> None:
        """Select subset of queues, where queues must be a list of queue names to keep."""
        return self.amqp.queues.select(queues)

    def add_periodic_task(self, schedule: Any, sig: Any, args: tuple = (), kwargs: Any = (),
                          name: str | None = None, **opts: Any) -> str:
        """Add a periodic task to the beat schedule; returns the entry's key."""
        from celery.utils.abstract import CallableSignature, CallableTask
        if not isinstance(sig, CallableSignature):
            sig = self.signature(
                sig.name if isinstance(sig, CallableTask) else sig, args, kwargs)
        key = name or repr(sig)
        entry = {
            'schedule': schedule,
            'task': sig.name,
            'args': sig.args,
            'kwargs': sig.kwargs,
            'options': dict(sig.options, **opts),
        }
        if self.configured:
            self._conf.beat_schedule[key] = entry
        else:
            self._pending_periodic_tasks.append((key, entry))
        return key

    def _add_pending_periodic_tasks(self) -> None:
        while self._pending_periodic_tasks:
            key, entry = self._pending_periodic_tasks.popleft()
            self._conf.beat_schedule[key] = entry

    def create_task_cls(self) -> type[Task]:
        """Create a base task class bound to this app."""
        return self.subclass_with_self(
            self.task_cls, name='Task', attribute='_app',
            keep_reduce=True, abstract=True,
        )

    def subclass_with_self(self, Class: Any, name: str | None = None, attribute: str = 'app',
                           reverse: str | None = None, keep_reduce: bool = False,
                           **kw: Any) -> type:
        """Subclass an app-compatible class by setting its app attribute to this app."""
        Class = symbol_by_name(Class)
        reverse = reverse if reverse else Class.__name__

        def __reduce__(self: Any) -> tuple:
            return _unpickle_appattr, (reverse, self.__reduce_args__())

        attrs = dict(
            {attribute: self},
            __module__=Class.__module__,
            __doc__=Class.__doc__,
            **kw)
        if not keep_reduce:
            attrs['__reduce__'] = __reduce__

        return type(name or Class.__name__, (Class,), attrs)

    def _rgetattr(self, path: str) -> Any:
        obj: Any = self
        for part in path.split('.'):
            obj = getattr(obj, part)
        return obj

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.main or "__main__"} at {id(self):#x}>'

    def __reduce__(self) -> tuple:
        return _unpickle_app_v2, (self.__class__, self.__reduce_keys__())

    def __reduce_keys__(self) -> dict[str, Any]:
        """Keyword arguments used to reconstruct the object when unpickling."""
        return {
            'main': self.main,
            'changes': self._conf.changes if self.configured else self._preconf,
            'loader': self.loader_cls,
            'backend': self.backend_cls,
            'amqp': self.amqp_cls,
            'events': self.events_cls,
            'log': self.log_cls,
            'control': self.control_cls,
            'fixups': self.fixups,
            'config_source': self._config_source,
            'task_cls': self.task_cls,
            'namespace': self.namespace,
        }


def _unpickle_app_v2(cls: type[Celery], kwargs: dict[str, Any]) -> Celery:
    """Rebuild an app from its reduce keys."""
    kwargs['set_as_current'] = False
    return cls(**kwargs)

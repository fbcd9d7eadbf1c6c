"""The Celery application: configuration, task registry, and sending tasks."""
from __future__ import annotations

import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from celery import _state, signals
from celery._state import (
    _deregister_app,
    _register_app,
    _set_current_app,
    get_current_app,  # noqa: F401 - Celery has it in this module
    get_current_worker_task,
    set_default_app,
)
from celery.app import builtins  # noqa: F401 - registers the built-in tasks
from celery.app.components import AppComponents
from celery.app.config import ERR_ENVVAR_NOT_SET, AppConfiguration  # noqa: F401
from celery.app.connections import AppConnections
from celery.app.finalize import AppFinalization
from celery.app.pickling import AppPickler  # noqa: F401
from celery.app.publish_settings import publish_settings
# _unpickle_appattr: pickles name it in this module (Celery's path).
from celery.app.reduction import AppReduction, _unpickle_appattr  # noqa: F401
from celery.app.registry import TaskRegistry
# Several of these are imported only because Celery has them in this module.
from celery.app.task_factory import (  # noqa: F401
    ERR_NOT_FINALIZED,
    USING_EXECV,
    W_DUPTASK,
    AppTaskFactory,
    caller_stacklevel,
    frame_is_celery,
    task_callable_qualname,
)
from celery.exceptions import AlwaysEagerIgnored
from celery.local import maybe_evaluate  # noqa: F401 - Celery has it in this module
from celery.utils import uuid
from celery.utils.dispatch import Signal
from celery.utils.functional import maybe_list
from celery.utils.imports import symbol_by_name
from celery.utils.lazy_names import lazy_module_getattr

if TYPE_CHECKING:
    from datetime import tzinfo

    from kombu import Connection, Producer

    from celery.app.amqp import AMQP
    from celery.app.control import Control
    from celery.app.events import Events
    from celery.app.log import Logging
    from celery.app.routes import Router
    from celery.app.task import Task
    from celery.backends.base import Backend
    from celery.canvas import Signature
    from celery.loaders.base import BaseLoader
    from celery.result import AsyncResult
    from celery.schedules import BaseSchedule

__all__ = ('Celery',)

if TYPE_CHECKING:
    from celery.app.finalize import _Packages

#: Digest used to sign messages when :meth:`Celery.setup_security` is given none.
DEFAULT_SECURITY_DIGEST = 'sha256'

#: Built-in fixups applied to every app (activated only when relevant).
BUILTIN_FIXUPS = {'celery.fixups.django:fixup'}


#: Names Celery has in this module, imported on first use: creating an app
#: must not import what only some apps need.
_LAZY_NAMES = {
    'PendingConfiguration': 'celery.app.pending_config',
    'pydantic_wrapper': 'celery.app.pydantic_args',
}


__getattr__ = lazy_module_getattr(__name__, _LAZY_NAMES, globals())


def app_has_custom(app: Celery, attr: str) -> bool:
    """Return True if ``app``'s class (a subclass of Celery) redefines ``attr``.

    Lets a fast path be taken only while the default behaviour is in use.
    """
    from celery.utils.objects import mro_lookup
    return mro_lookup(type(app), attr, stop={Celery, object},
                      monkey_patched=[__name__]) is not None


def _after_fork_cleanup_apps() -> None:
    for app in list(_state._get_active_apps()):
        app._after_fork()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_cleanup_apps)


class _ThreadLocal(threading.local):
    """Per-thread state of an app: result backend and rpc reply queue name."""

    backend: Backend | None = None
    thread_oid: str | None = None


class Celery(AppTaskFactory, AppFinalization, AppConfiguration, AppConnections, AppReduction,
             AppComponents):
    """Celery application.

    Arguments:
        main: name of the main module if running as ``__main__``; used as
            the prefix of auto-generated task names.
        set_as_current: make this the current app of this thread (the app
            used by code that is not given one, such as shared tasks).
        config_source: object or module name to load the configuration
            from (as :meth:`config_from_object`); with
            ``config_source_silent`` a module that cannot be imported is
            skipped instead of raising.

    Any other keyword argument is a setting (``Celery(task_serializer='pickle')``).
    """

    SYSTEM = os.name
    IS_macOS = SYSTEM == 'darwin'
    IS_WINDOWS = SYSTEM == 'nt'

    #: Name of the main module; prefix of task names defined in ``__main__``.
    main: str | None = None

    #: Execute tasks in pool children through the lean tracer (set by the worker).
    use_fast_trace_task = False

    amqp_cls: str | type[AMQP] = 'celery.app.amqp:AMQP'
    backend_cls: str | type[Backend] | None = None
    events_cls: str | type[Events] = 'celery.app.events:Events'
    loader_cls: str | type[BaseLoader] | None = None
    log_cls: str | type[Logging] = 'celery.app.log:Logging'
    control_cls: str | type[Control] = 'celery.app.control:Control'
    task_cls: str | type[Task] = 'celery.app.task:Task'
    registry_cls: str | type[TaskRegistry] = 'celery.app.registry:TaskRegistry'

    #: Fixups applied when ``fixups`` is not given (a subclass may change them).
    builtin_fixups = BUILTIN_FIXUPS

    #: Extra command-line options per command (``worker``, ``beat``,
    #: ``events``, ``preload``); a dict of sets on each app.
    user_options: dict[str, set[object]] | None = None
    #: Extra bootsteps per blueprint (``worker``, ``consumer``); a dict of sets on each app.
    steps: dict[str, set[object]] | None = None

    # The app's own signals, made per app unless a subclass sets them here:
    # None on the class, a Signal on every instance (see _make_signals).
    if TYPE_CHECKING:
        #: Sent when the app is loading its configuration.
        on_configure: Signal
        #: Sent once the configuration is ready (``source`` is the settings).
        on_after_configure: Signal
        #: Sent once the app is finalized.
        on_after_finalize: Signal
        #: Sent by every new process after fork.
        on_after_fork: Signal
    else:
        on_configure = on_after_configure = on_after_finalize = on_after_fork = None

    #: Thread local storage.
    _local: _ThreadLocal
    _fixups: list[object]
    _pool = None
    _conf = None

    def __init__(self, main: str | None = None, loader: str | type[BaseLoader] | None = None,
                 backend: str | type[Backend] | None = None,
                 amqp: str | type[AMQP] | None = None, events: str | type[Events] | None = None,
                 log: str | type[Logging] | None = None,
                 control: str | type[Control] | None = None,
                 set_as_current: bool = True, tasks: Mapping[str, Task] | None = None,
                 broker: str | None = None, include: Iterable[str] | None = None,
                 changes: Mapping[str, object] | None = None,
                 config_source: object = None, fixups: Iterable[str] | None = None,
                 task_cls: str | type[Task] | None = None, autofinalize: bool = True,
                 namespace: str | None = None, strict_typing: bool = True,
                 config_source_silent: bool = False, **kwargs: Any) -> None:
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
        self.user_options = {'worker': set(), 'beat': set(), 'events': set(), 'preload': set()}
        self.steps = {'worker': set(), 'consumer': set()}
        self.autofinalize = autofinalize
        self.namespace = namespace
        self.strict_typing = strict_typing

        self.configured = False
        self._config_lock = threading.RLock()
        self._config_source = config_source
        self._config_source_silent = config_source_silent
        self._pending_defaults: deque[Callable[[], object]] = deque()
        self._pending_periodic_tasks: deque[tuple[str, dict[str, object]]] = deque()
        self._pending_autodiscovery: deque[tuple[_Packages, str]] = deque()

        self.finalized = False
        self._finalize_mutex = threading.RLock()
        self._pending: deque[object] = deque()
        self._tasks = (tasks if isinstance(tasks, TaskRegistry)
                       else symbol_by_name(self.registry_cls)(tasks or {}))

        self._preconf: dict[str, object] = {}
        self._preconf_set_by_auto: set[str] = set()
        self._record_constructor_settings(broker, backend, include, kwargs, changes)

        self.fixups = set(self.builtin_fixups if fixups is None else fixups)
        self._fixups = [symbol_by_name(fixup)(self) for fixup in self.fixups]
        self._make_signals()

        # Bound methods are weakly referenced: keep them reachable.
        self._on_import_modules = self._autodiscover_pending
        signals.import_modules.connect(self._on_import_modules, sender=self)

        if set_as_current:
            self.set_current()
        self.on_init()
        _register_app(self)

    def _get_default_loader(self) -> str | type[BaseLoader]:
        # The --loader command-line option sets this environment variable.
        return os.environ.get('CELERY_LOADER') or self.loader_cls or 'celery.loaders.app:AppLoader'

    def _record_constructor_settings(self, broker: str | None, backend: object,
                                     include: Iterable[str] | None,
                                     settings: dict[str, object],
                                     changes: Mapping[str, object] | None) -> None:
        shortcuts = {'broker_url': broker, 'result_backend': backend,
                     'include': tuple(include) if include else None}
        # Keyword settings come second: ``broker_url=`` wins over ``broker=``.
        for key, value in [*shortcuts.items(), *settings.items()]:
            if value is not None:
                self._preconf[key] = value
                # Remembered so the old/new setting-name check ignores them.
                self._preconf_set_by_auto.add(key)
        if changes:
            self._preconf.update(changes)

    def _make_signals(self) -> None:
        # A subclass may give its own signals (or set them to None).
        if getattr(self, 'on_configure', None) is None:
            self.on_configure = Signal(name='app.on_configure')
        if getattr(self, 'on_after_configure', None) is None:
            self.on_after_configure = Signal(name='app.on_after_configure',
                                             providing_args={'source'})
        if getattr(self, 'on_after_finalize', None) is None:
            self.on_after_finalize = Signal(name='app.on_after_finalize')
        if getattr(self, 'on_after_fork', None) is None:
            self.on_after_fork = Signal(name='app.on_after_fork')

    def on_init(self) -> None:
        """Optional callback called at init."""

    # -- current/default app ------------------------------------------------

    def set_current(self) -> None:
        """Make this the current app of this thread."""
        _set_current_app(self)

    def set_default(self) -> None:
        """Make this the app of every thread that has no current app of its own."""
        set_default_app(self)

    def close(self) -> None:
        """Clean up after the application: close its connection pools."""
        amqp: AMQP | None = self.__dict__.get('amqp')
        if amqp is not None and amqp._producer_pool is not None:
            amqp._producer_pool.force_close_all()
            amqp._producer_pool = None
        if self._pool is not None:
            self._pool.force_close_all()
            self._pool = None
        _deregister_app(self)

    def __enter__(self) -> Celery:
        """Use the app in a ``with`` block; it is closed at the end."""
        return self

    def __exit__(self, *exc_info: object) -> None:
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

    # -- sending tasks -----------------------------------------------------

    def send_task(self, name: str, args: Sequence[object] | None = None,
                  kwargs: Mapping[str, object] | None = None,
                  countdown: float | None = None, eta: datetime | None = None,
                  task_id: str | None = None, producer: Producer | None = None,
                  connection: Connection | None = None, router: Router | None = None,
                  result_cls: Callable[[str], AsyncResult[Any]] | None = None,
                  expires: float | datetime | None = None, publisher: Producer | None = None,
                  link: Signature[Any] | Sequence[Signature[Any]] | None = None,
                  link_error: Signature[Any] | Sequence[Signature[Any]] | None = None,
                  add_to_parent: bool = True,
                  group_id: str | None = None, group_index: int | None = None,
                  retries: int = 0, chord: Signature[Any] | None = None,
                  reply_to: str | None = None,
                  time_limit: float | None = None, soft_time_limit: float | None = None,
                  root_id: str | None = None, parent_id: str | None = None,
                  route_name: str | None = None, shadow: str | None = None,
                  chain: Sequence[Signature[Any]] | None = None, task_type: Task | None = None,
                  replaced_task_nesting: int = 0, **options: Any) -> AsyncResult[Any]:
        """Send task by name, without needing the task registered locally."""
        parent = None
        have_parent = False
        amqp = self.amqp
        task_id = task_id or uuid()
        producer = producer or publisher
        router = router or amqp.router
        settings = publish_settings(self)
        if settings.always_eager:  # pragma: no cover
            warnings.warn(AlwaysEagerIgnored(
                'task_always_eager has no effect on send_task'), stacklevel=2)

        ignore_result = options.pop('ignore_result', None)  # None: the worker's task decides
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
                if settings.inherit_parent_priority:
                    options.setdefault(
                        'priority', (request.delivery_info or {}).get('priority'))

        message = amqp.create_task_message(
            task_id, name, args, kwargs, countdown, eta, group_id, group_index,
            expires, retries, chord,
            maybe_list(link), maybe_list(link_error),
            reply_to or self.thread_oid, time_limit, soft_time_limit,
            settings.send_sent_event,
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
        # A producer being used by the forking thread belongs to the parent.
        self.__dict__.pop('_producer_local_', None)
        amqp: AMQP | None = self.__dict__.get('amqp')
        producers = None
        if amqp is not None:
            producers, amqp._producer_pool = amqp._producer_pool, None
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
    def timezone(self) -> tzinfo:
        """Current timezone for this app (:setting:`timezone`, UTC by default)."""
        from celery.utils.time import timezone as tz
        conf = self.conf
        if not conf.timezone:
            return tz.utc if conf.enable_utc else tz.local
        return tz.get_timezone(conf.timezone)

    def signature(self, *args: Any, **kwargs: Any) -> Signature[Any]:
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
                       digest: str = DEFAULT_SECURITY_DIGEST, serializer: str = 'json') -> None:
        """Sign task messages with the ``auth`` serializer (see :mod:`celery.security`)."""
        from celery.security import setup_security
        return setup_security(allowed_serializers, key, key_password, cert, store,
                              digest, serializer, app=self)

    def select_queues(self, queues: Iterable[str] | None = None) -> None:
        """Select subset of queues, where queues must be a list of queue names to keep."""
        self.amqp.queues.select(queues)

    def add_periodic_task(self, schedule: BaseSchedule | float | timedelta,
                          sig: Signature[Any] | Task | str, args: Sequence[object] = (),
                          kwargs: Mapping[str, object] | tuple[()] = (),
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
            self.conf.beat_schedule[key] = entry
        else:
            self._pending_periodic_tasks.append((key, entry))
        return key

    def _add_pending_periodic_tasks(self) -> None:
        while self._pending_periodic_tasks:
            key, entry = self._pending_periodic_tasks.popleft()
            self.conf.beat_schedule[key] = entry

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.main or "__main__"} at {id(self):#x}>'

#: Celery's other name for the application class.
App = Celery

"""WorkController: the worker engine that starts the pool and the consumer.

The ``celery worker`` program (:mod:`celery.apps.worker`) subclasses it to
add the banner, signal handlers and logging set-up.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from celery import bootsteps, signals
from celery.exceptions import (
    ImproperlyConfigured, TaskRevokedError, WorkerShutdown, WorkerTerminate,
)
from celery.transport.versions import check_installed_versions
from celery.utils.log import get_logger, mlevel
from celery.utils.nodenames import default_nodename, worker_direct
from celery.utils.text import str_to_list
from celery.utils.threads import default_socket_timeout
from celery.worker import state
from celery.worker._parents import app_steps

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import ModuleType

    from kombu.asynchronous import Hub

    from celery.app.base import Celery
    from celery.concurrency.base import BasePool
    from celery.platforms.pidfile import Pidfile
    from celery.worker._types import Service, WorkerTimer
    from celery.worker.autoscale import Autoscaler
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.dispatch import FairDispatcher
    from celery.worker.request import Request
    from celery.worker.state import Persistent

__all__ = ('WorkController',)

logger = get_logger(__name__)

# Celery's user-visible error texts, kept verbatim.
SELECT_UNKNOWN_QUEUE = """
Trying to select queue subset of {0!r}, but queue {1} isn't
defined in the `task_queues` setting.

If you want to automatically declare unknown queues you can
enable the `task_create_missing_queues` setting.
"""

DESELECT_UNKNOWN_QUEUE = """
Trying to deselect queue subset of {0!r}, but queue {1} isn't
defined in the `task_queues` setting.
"""

RUN, TERMINATE = bootsteps.RUN, bootsteps.TERMINATE
EX_FAILURE = 1

#: Seconds to wait for sockets during shutdown (a dead broker must not hang it).
SHUTDOWN_SOCKET_TIMEOUT = 5.0


class WorkController:
    """Unmanaged worker instance: the pool, the consumer and their steps."""

    if TYPE_CHECKING:
        #: The app: given, or set on the class by ``app.WorkController``.
        app: Celery
    else:
        # Celery's class attribute; every instance has its app (see __init__).
        app = None
    pidlock: Pidfile | None = None
    blueprint: bootsteps.Blueprint | None = None
    pool: BasePool | None = None
    semaphore: object = None
    #: Holds requests until a pool process is free (prefork with an event loop).
    dispatcher: FairDispatcher | None = None
    consumer: Consumer | None = None
    #: Set while a forking pool waits for the consumer to start it.
    pool_start_pending = False
    hub: Hub | None = None
    timer: WorkerTimer | None = None
    #: Sends a request to the pool (the Pool step may route it through ``dispatcher``).
    process_task: Callable[[Request], None]
    #: Set by the Pool step: ``-c``, or the autoscaler's bounds.
    max_concurrency: int | None
    min_concurrency: int
    autoscale: list[int] | None
    #: Set by the Autoscaler and Beat steps (None when they are off).
    autoscaler: Autoscaler | None
    beat: Service | None
    #: The ``--statedb`` file (set by the StateDB step; None without one).
    _persistence: Persistent | None

    # Resolved by setup_defaults: the option given, else its setting.
    #: A name or number; a number (or None) once setup_instance converted it.
    loglevel: int | str | None
    logfile: str | None
    optimization: str | None
    pool_cls: str | type[BasePool]
    concurrency: int
    autoscaler_cls: str | type[Autoscaler]
    pool_putlocks: bool
    pool_restarts: bool
    max_tasks_per_child: int | None
    max_memory_per_child: int | None
    worker_lost_wait: float
    pool_start_method: str | None
    proc_alive_timeout: float
    time_limit: float | None
    soft_time_limit: float | None
    consumer_cls: str | type[Consumer]
    disable_prefetch: bool
    prefetch_multiplier: int
    disable_rate_limits: bool
    task_events: bool
    timer_cls: str | type[WorkerTimer] | None
    timer_precision: float
    scheduler: str | type
    schedule_filename: str
    statedb: str | None
    #: The exit code when a :exc:`SystemExit` stopped the worker (a message if a string).
    exitcode: int | str | None = None

    class Blueprint(bootsteps.Blueprint):
        """The worker's steps."""

        # Celery's blueprint name and bootstep list, kept for compatibility.
        name = 'Worker'
        default_steps = {
            'celery.worker.components:Hub',
            'celery.worker.components:Pool',
            'celery.worker.components:Beat',
            'celery.worker.components:Timer',
            'celery.worker.components:StateDB',
            'celery.worker.revoke_store:DurableRevokes',
            'celery.worker.components:Consumer',
            'celery.worker.autoscale:WorkerComponent',
            'celery.worker.probes:Probes',
            'celery.worker.dead_letter:DeadLetterExchange',
        }

    def __init__(self, app: Celery | None = None, hostname: str | None = None,
                 **kwargs: Any) -> None:
        self.app = app or self.app
        # The Pool step may route requests through its dispatcher instead.
        self.process_task = self._process_task
        self.hostname = default_nodename(hostname)
        self.startup_time = datetime.now(timezone.utc)
        # Task modules are imported first: hooks and options see every task.
        self.app.loader.init_worker()
        self._configure(kwargs)

    def _configure(self, options: dict[str, Any]) -> None:
        """Resolve the options between the program's two hooks, then build the worker."""
        self.on_before_init(**options)
        self.setup_defaults(**options)
        self.on_after_init(**options)
        self.setup_instance(**self.prepare_args(**options))

    def setup_instance(self, queues: str | list[str] | None = None,
                       ready_callback: Callable[[Consumer], object] | None = None,
                       pidfile: str | None = None, include: str | list[str] | None = None,
                       use_eventloop: bool | None = None,
                       exclude_queues: str | list[str] | None = None,
                       **kwargs: Any) -> None:
        """Select queues, import modules and build the blueprint."""
        from celery import concurrency
        from celery.app.trace import setup_worker_optimizations
        self.pidfile = pidfile
        self.setup_queues(queues, exclude_queues)
        self.setup_includes(str_to_list(include) if include else [])
        if not self.concurrency:
            self.concurrency = os.cpu_count() or 2
        self.loglevel = mlevel(self.loglevel)
        self.ready_callback = ready_callback or self.on_consumer_ready
        # Before the first connection: untested dependency versions warn once
        # here and turn the fast path off (celery.transport.versions).
        check_installed_versions()
        # Never connected: only used to read the transport's capabilities.
        self._conninfo = self.app.connection_for_read()
        self.use_eventloop = (self.should_use_eventloop() if use_eventloop is None
                              else use_eventloop)
        self.options = kwargs
        signals.worker_init.send(sender=self)
        setup_worker_optimizations(self.app, self.hostname)
        self.pool_cls = concurrency.get_implementation(self.pool_cls)
        # Started steps, any with a start method (bootsteps' _HasSteps).
        self.steps: list[Any] = []
        self.on_init_blueprint()
        self.blueprint = self.Blueprint(
            steps=app_steps(self.app, 'worker'), on_start=self.on_start,
            on_close=self.on_close, on_stopped=self.on_stopped,
        )
        self.blueprint.apply(self, **kwargs)

    # -- hooks for the worker program ----------------------------------------------

    def on_init_blueprint(self) -> None:
        """Hook: before the blueprint is built."""

    def on_before_init(self, **kwargs: Any) -> None:
        """Hook: before the settings are read."""

    def on_after_init(self, **kwargs: Any) -> None:
        """Hook: after the settings are read."""

    def on_start(self) -> None:
        """Hook: the blueprint is starting (creates the pidfile lock)."""
        if self.pidfile:
            from celery.platforms import create_pidlock
            self.pidlock = create_pidlock(self.pidfile)

    def on_consumer_ready(self, consumer: Consumer) -> None:
        """Hook: the consumer is consuming."""

    def on_close(self) -> None:
        """Hook: the blueprint is closing."""
        self.app.loader.shutdown_worker()

    def on_stopped(self) -> None:
        """Hook: every step stopped: stop the timer, close the consumer."""
        if self.timer is not None:
            self.timer.stop()
        if self.consumer is not None:
            self.consumer.shutdown()
        if self.pidlock:
            self.pidlock.release()

    # -- setup ------------------------------------------------------------------------

    def setup_queues(self, include: str | list[str] | None,
                     exclude: str | list[str] | None = None) -> None:
        """Consume only from ``include`` (``-Q``) minus ``exclude`` (``-X``)."""
        include = str_to_list(include) if include else []
        exclude = str_to_list(exclude) if exclude else []
        queues = self.app.amqp.queues
        try:
            queues.select(include)
        except KeyError as exc:
            raise ImproperlyConfigured(
                SELECT_UNKNOWN_QUEUE.strip().format(include, exc)) from exc
        try:
            queues.deselect(exclude)
        except KeyError as exc:
            raise ImproperlyConfigured(
                DESELECT_UNKNOWN_QUEUE.strip().format(exclude, exc)) from exc
        if self.app.conf.worker_direct:
            queues.select_add(worker_direct(self.hostname))

    def setup_includes(self, includes: list[str]) -> None:
        """Import ``includes`` and remember every task module (for re-exec)."""
        prev = tuple(self.app.conf.include or ())
        if includes:
            prev += tuple(includes)
            for module in includes:
                self.app.loader.import_task_module(module)
        self.include = includes
        task_modules = {type(task).__module__ for task in self.app.tasks.values()}
        self.app.conf.include = tuple(set(prev) | task_modules)

    def prepare_args(self, **kwargs: Any) -> dict[str, Any]:
        """Hook: adjust the keyword arguments passed to :meth:`setup_instance`."""
        return kwargs

    def setup_defaults(self, concurrency: int | None = None, loglevel: str | int | None = 'WARN',
                       logfile: str | None = None, task_events: bool | None = None,
                       pool: str | type[BasePool] | None = None,
                       consumer_cls: str | type[Consumer] | None = None,
                       timer_cls: str | type[WorkerTimer] | None = None,
                       timer_precision: float | None = None,
                       autoscaler_cls: str | type[Autoscaler] | None = None,
                       pool_putlocks: bool | None = None, pool_restarts: bool | None = None,
                       optimization: str | None = None, O: str | None = None,
                       statedb: str | None = None, time_limit: float | None = None,
                       soft_time_limit: float | None = None, scheduler: str | type | None = None,
                       pool_cls: str | type[BasePool] | None = None, state_db: str | None = None,
                       task_time_limit: float | None = None,
                       task_soft_time_limit: float | None = None,
                       scheduler_cls: str | type | None = None,
                       schedule_filename: str | None = None,
                       max_tasks_per_child: int | None = None,
                       prefetch_multiplier: int | None = None,
                       disable_rate_limits: bool | None = None,
                       worker_lost_wait: float | None = None,
                       max_memory_per_child: int | None = None,
                       pool_start_method: str | None = None,
                       disable_prefetch: bool | None = None, **_kw: object) -> None:
        """Resolve each option: the first alias given (not None), else its setting."""
        option_or_setting = self.app.either
        self.loglevel = loglevel
        self.logfile = logfile
        self.optimization = optimization or O

        # The pool: its kind, size and how its processes live and die.
        self.pool_cls = option_or_setting('worker_pool', pool, pool_cls)
        self.concurrency = option_or_setting('worker_concurrency', concurrency)
        self.autoscaler_cls = option_or_setting('worker_autoscaler', autoscaler_cls)
        self.pool_putlocks = option_or_setting('worker_pool_putlocks', pool_putlocks)
        self.pool_restarts = option_or_setting('worker_pool_restarts', pool_restarts)
        self.max_tasks_per_child = option_or_setting('worker_max_tasks_per_child',
                                                     max_tasks_per_child)
        self.max_memory_per_child = option_or_setting('worker_max_memory_per_child',
                                                      max_memory_per_child)
        self.worker_lost_wait = option_or_setting('worker_lost_wait', worker_lost_wait)
        self.pool_start_method = option_or_setting('worker_pool_start_method',
                                                   pool_start_method)
        self.proc_alive_timeout = self.app.conf.worker_proc_alive_timeout
        self.time_limit = option_or_setting('task_time_limit', time_limit, task_time_limit)
        self.soft_time_limit = option_or_setting('task_soft_time_limit', soft_time_limit,
                                                 task_soft_time_limit)

        # Taking messages: how many ahead, how fast, and what is reported.
        self.consumer_cls = option_or_setting('worker_consumer', consumer_cls)
        self.disable_prefetch = bool(option_or_setting('worker_disable_prefetch',
                                                       disable_prefetch))
        # Without prefetch each process reserves only the message it runs.
        self.prefetch_multiplier = 1 if self.disable_prefetch else int(
            option_or_setting('worker_prefetch_multiplier', prefetch_multiplier))
        self.disable_rate_limits = option_or_setting('worker_disable_rate_limits',
                                                     disable_rate_limits)
        self.task_events = option_or_setting('worker_send_task_events', task_events)

        # The timer, the embedded beat, and the state kept across restarts.
        self.timer_cls = option_or_setting('worker_timer', timer_cls)
        self.timer_precision = option_or_setting('worker_timer_precision', timer_precision)
        self.scheduler = option_or_setting('beat_scheduler', scheduler, scheduler_cls)
        self.schedule_filename = option_or_setting('beat_schedule_filename', schedule_filename)
        self.statedb = option_or_setting('worker_state_db', statedb, state_db)

    # -- running ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and block until it stops."""
        assert self.blueprint is not None  # built by __init__
        try:
            self.blueprint.start(self)
        except WorkerTerminate as exc:
            # A cold shutdown asked for while starting: nothing waits for tasks.
            self.exitcode = exc.code
            self.terminate()
        except SystemExit as exc:
            # Includes WorkerShutdown: a warm stop with the requested exit code.
            self.stop(exitcode=exc.code)
        except (KeyboardInterrupt, Exception) as exc:
            if not isinstance(exc, KeyboardInterrupt):
                logger.critical('Unrecoverable error: %r', exc, exc_info=True)
            self.stop(exitcode=EX_FAILURE)

    def register_with_event_loop(self, hub: Hub) -> None:
        """Let every step register with the hub."""
        assert self.blueprint is not None  # built by __init__
        self.blueprint.send_all(self, 'register_with_event_loop', args=(hub,),
                                description='hub.register')

    def _process_task(self, req: Request) -> None:
        """Send a request to the pool."""
        assert self.pool is not None  # the Pool step sets process_task to this
        try:
            req.execute_using_pool(self.pool)
        except TaskRevokedError:
            pass  # already reported by the request


    def signal_consumer_close(self) -> None:
        """Ask the consumer to stop taking messages."""
        close = getattr(self.consumer, 'close', None)
        if close is not None:
            close()

    def should_use_eventloop(self) -> bool:
        """Use the hub when the transport supports async I/O (amqp, redis)."""
        from kombu.utils.compat import detect_environment
        return (detect_environment() == 'default'
                and self._conninfo.transport.implements.asynchronous
                and not self.app.IS_WINDOWS)

    def _stop_from_loop_thread(self, warm: bool, exitcode: int | str | None) -> bool:
        # kombu connections are not thread-safe: a stop requested from another
        # thread is carried out by the loop thread itself.
        consumer = self.consumer
        if consumer is None or consumer.in_loop_thread() or self._state() != RUN:
            return False
        exc_class = WorkerShutdown if warm else WorkerTerminate

        def raise_in_loop() -> None:
            raise exc_class(exitcode if exitcode is not None else 0)
        consumer.call_soon(raise_in_loop)
        return True

    def stop(self, in_sighandler: bool = False, exitcode: int | str | None = None) -> None:
        """Warm shutdown: stop consuming, let running tasks finish."""
        if self._stop_from_loop_thread(True, exitcode):
            return
        if exitcode is not None:
            self.exitcode = exitcode
        if self._state() == RUN:
            self.signal_consumer_close()
            if not in_sighandler or self._signal_safe():
                self._shutdown(warm=True)
        self._send_worker_shutdown()

    def terminate(self, in_sighandler: bool = False) -> None:
        """Cold shutdown: terminate running tasks."""
        if self._stop_from_loop_thread(False, None):
            return
        if self._state() != TERMINATE:
            self.signal_consumer_close()
            if not in_sighandler or self._signal_safe():
                self._shutdown(warm=False)

    def _state(self) -> int | None:
        return self.blueprint.state if self.blueprint is not None else None

    def _signal_safe(self) -> bool:
        return self.pool is None or self.pool.signal_safe

    def wait_for_soft_shutdown(self) -> None:
        """Soft shutdown: running tasks get ``worker_soft_shutdown_timeout`` s to finish.

        Called by the consumer's loop when a cold shutdown begins; without the
        setting it returns at once.
        """
        from celery.worker.soft_shutdown import wait_for_running_tasks
        if self.consumer is not None:
            wait_for_running_tasks(self.consumer, self.hub)

    def _shutdown(self, warm: bool = True) -> None:
        if self.blueprint is not None:
            with default_socket_timeout(SHUTDOWN_SOCKET_TIMEOUT):
                self.blueprint.stop(self, terminate=not warm)
                self.blueprint.join()
            state.forget_requests(self.hostname)

    def _send_worker_shutdown(self) -> None:
        signals.worker_shutdown.send(sender=self)

    def reload(self, modules: Iterable[str] | None = None, reload: bool = False,
               reloader: Callable[[ModuleType], object] | None = None) -> None:
        """Import (or re-import) task modules and rebuild the strategies."""
        import importlib
        names = self.app.loader.task_modules if modules is None else modules
        for module in set(names or ()):
            if module not in sys.modules:
                logger.debug('importing module %s', module)
                importlib.import_module(module)
            elif reload:
                logger.debug('reloading module %s', module)
                (reloader or importlib.reload)(sys.modules[module])
        if self.consumer is not None:
            self.consumer.update_strategies()
            self.consumer.reset_rate_limits()
        try:
            if self.pool is not None:
                self.pool.restart()
        except NotImplementedError:
            pass

    # -- introspection -------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Totals, pid, clock and uptime (``inspect stats``)."""
        uptime = datetime.now(timezone.utc) - self.startup_time
        return {'total': dict(self.state.total_count), 'pid': os.getpid(),
                'clock': str(self.app.clock), 'uptime': round(uptime.total_seconds())}

    def rusage(self) -> dict[str, Any]:
        """Resource usage of this process."""
        import resource
        s = resource.getrusage(resource.RUSAGE_SELF)
        return {'rusage': {
            'utime': s.ru_utime, 'stime': s.ru_stime, 'maxrss': s.ru_maxrss,
            'ixrss': s.ru_ixrss, 'idrss': s.ru_idrss, 'isrss': s.ru_isrss,
            'minflt': s.ru_minflt, 'majflt': s.ru_majflt, 'nswap': s.ru_nswap,
            'inblock': s.ru_inblock, 'oublock': s.ru_oublock, 'msgsnd': s.ru_msgsnd,
            'msgrcv': s.ru_msgrcv, 'nsignals': s.ru_nsignals, 'nvcsw': s.ru_nvcsw,
            'nivcsw': s.ru_nivcsw,
        }}

    def stats(self) -> dict[str, Any]:
        """Everything ``inspect stats`` reports."""
        info = self.info()
        if self.blueprint is not None:
            info.update(self.blueprint.info(self))
        if self.consumer is not None:
            info.update(self.consumer.blueprint.info(self.consumer))
        info.update(self.rusage())
        return info

    @property
    def state(self) -> ModuleType:
        """The worker-global :mod:`celery.worker.state` module."""
        return state

    def __repr__(self) -> str:
        human = self.blueprint.human_state() if self.blueprint else 'initializing'
        return f'<Worker: {self.hostname} ({human})>'

    def __str__(self) -> str:
        return self.hostname

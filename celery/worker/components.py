"""The worker's bootsteps: timer, hub, pool, beat, state db and consumer."""
from __future__ import annotations

import atexit
import gc
import importlib
from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery._state import _set_task_join_will_block
from celery.exceptions import ImproperlyConfigured
from celery.platforms import IS_WINDOWS
from celery.utils.log import get_logger
from celery.worker._parents import worker_of

if TYPE_CHECKING:
    from kombu.asynchronous import Hub as KombuHub

    from celery.app.base import Celery
    from celery.concurrency.base import BasePool
    from celery.worker._types import Service
    from celery.worker.consumer.consumer import Consumer as WorkerConsumer
    from celery.worker.worker import WorkController

__all__ = ('Timer', 'Hub', 'Pool', 'Beat', 'StateDB', 'Consumer')

logger = get_logger(__name__)

ERR_B_GREEN = """\
-B option doesn't work with eventlet/gevent pools: use standalone beat instead.\
"""

W_POOL_SETTING = """\
The worker_pool setting shouldn't be used to select the eventlet/gevent
pools, instead you *must use the -P* argument so that patches are applied
as early as possible.\
"""

GREEN_POOLS = {'eventlet', 'gevent'}


class Timer(bootsteps.Step):
    """The timer for ETA tasks, retries of rate-limited tasks and heartbeats."""

    def create(self, parent: WorkController | WorkerConsumer) -> None:
        w = worker_of(self, parent)
        if w.use_eventloop:
            # The hub runs the timer itself: no thread needed.
            from kombu.asynchronous.timer import Timer as _Timer
            w.timer = _Timer(max_interval=10.0)
            return
        if not w.timer_cls:
            w.timer_cls = getattr(w.pool_cls, 'Timer', None) or 'celery.utils.timer2:Timer'
        w.timer = self.instantiate(w.timer_cls, max_interval=w.timer_precision,
                                   on_error=self.on_timer_error,
                                   on_tick=self.on_timer_tick)

    def on_timer_error(self, exc: BaseException) -> None:
        logger.error('Timer error: %r', exc, exc_info=True)

    def on_timer_tick(self, delay: float) -> None:
        """Called by the timer thread on each tick (debug hook)."""


class Hub(bootsteps.StartStopStep):
    """The kombu event loop, used when the transport supports async I/O."""

    requires = (Timer,)

    def __init__(self, w: WorkController, **kwargs: Any) -> None:
        w.hub = None
        super().__init__(w, **kwargs)

    def include_if(self, parent: WorkController | WorkerConsumer) -> bool:
        w = worker_of(self, parent)
        return bool(w.use_eventloop)

    def create(self, parent: WorkController | WorkerConsumer) -> Hub:
        w = worker_of(self, parent)
        from kombu.asynchronous import get_event_loop, set_event_loop
        from kombu.asynchronous import Hub as _Hub
        w.hub = get_event_loop()
        if w.hub is None:
            required_hub = getattr(w._conninfo, 'requires_hub', None)
            w.hub = set_event_loop((required_hub or _Hub)(w.timer))
        self._patch_thread_primitives(w)
        return self

    def start(self, w: WorkController) -> None:
        """The consumer's loop drives the hub."""

    def stop(self, w: WorkController) -> None:
        if w.hub is not None:
            w.hub.close()

    def terminate(self, w: WorkController) -> None:
        if w.hub is not None:
            w.hub.close()

    def _patch_thread_primitives(self, w: WorkController) -> None:
        # Only the hub thread touches the clock: locking it is wasted work.
        from kombu.asynchronous.semaphore import DummyLock
        # kombu types the mutex as a threading lock; its DummyLock works the same.
        setattr(w.app.clock, 'mutex', DummyLock())  # noqa: B010


class Pool(bootsteps.StartStopStep):
    """The execution pool (``-P``/``worker_pool``)."""

    requires = (Hub,)

    def __init__(self, w: WorkController, autoscale: str | list[int] | None = None,
                 **kwargs: Any) -> None:
        w.pool = None
        w.max_concurrency = None
        w.min_concurrency = w.concurrency
        self.optimization = w.optimization
        if isinstance(autoscale, str):
            max_c, _, min_c = autoscale.partition(',')
            autoscale = [int(max_c), int(min_c) if min_c else 0]
        w.autoscale = autoscale
        if w.autoscale:
            w.max_concurrency, w.min_concurrency = w.autoscale
        super().__init__(w, **kwargs)

    def close(self, w: WorkController) -> None:
        if w.dispatcher is not None:
            w.dispatcher.release()
        if w.pool:
            w.pool.close()

    def terminate(self, w: WorkController) -> None:
        if w.pool:
            # Killed children fail their jobs: acks_late messages must be requeued
            # for another worker, not acked as failed.
            for request in tuple(w.state.active_requests):
                request.requeue_on_termination()
            w.pool.terminate()

    def create(self, parent: WorkController | WorkerConsumer) -> BasePool:
        w = worker_of(self, parent)
        if w.app.conf.worker_pool in GREEN_POOLS:  # pragma: no cover
            logger.warning(W_POOL_SETTING)
        threaded = not w.use_eventloop
        w.process_task = w._process_task
        w.dispatcher = None
        pool: BasePool = self.instantiate(w.pool_cls, w.min_concurrency,
                                          **self.pool_options(w, threaded))
        w.pool = pool
        _set_task_join_will_block(pool.task_join_will_block)
        if not threaded and w.pool_putlocks and getattr(w.pool_cls, 'uses_semaphore', False):
            from celery.worker.dispatch import FairDispatcher
            w.dispatcher = FairDispatcher(w._process_task, lambda: pool.max_jobs_in_flight,
                                          reserved=w.state.reserved_for(w.hostname),
                                          take_back=pool.take_back)
            w.process_task = w.dispatcher
        return pool

    def pool_options(self, w: WorkController, threaded: bool) -> dict[str, object]:
        """The pool class's keyword arguments, from the worker's options."""
        return {
            'app': w.app,
            'initargs': (w.app, w.hostname),
            'sched_strategy': self.optimization,
            # How long children live, and what replaces a lost one.
            'maxtasksperchild': w.max_tasks_per_child,
            'max_memory_per_child': w.max_memory_per_child,
            'lost_worker_timeout': w.worker_lost_wait,
            'start_method': w.pool_start_method,
            'proc_alive_timeout': w.proc_alive_timeout,
            'allow_restart': w.pool_restarts,
            'forking_enable': True,
            'semaphore': None,
            # Time limits are enforced by the pool.
            'timeout': w.time_limit,
            'soft_timeout': w.soft_time_limit,
            # Without the event loop the pool collects results in its own
            # threads, and a put may block while every process is busy.
            'threads': threaded,
            'putlocks': w.pool_putlocks and threaded,
            'max_restarts': None if threaded else 100,
        }

    def start(self, w: WorkController) -> None:
        # A forking pool starts when the consumer is about to loop (see
        # start_pool): every page the parent writes after the fork is copied,
        # and connecting, declaring and syncing with peers write plenty.
        if w.consumer is not None and getattr(w.pool, 'forks_children', False):
            w.pool_start_pending = True
            return
        start_pool(w)

    def info(self, w: WorkController) -> dict[str, Any]:
        return {'pool': w.pool.info if w.pool else 'N/A'}

    def register_with_event_loop(self, w: WorkController, hub: KombuHub) -> None:
        if w.pool is not None:
            w.pool.register_with_event_loop(hub)
        if w.dispatcher is not None:
            hub.on_tick.add(w.dispatcher.fill)


#: Modules a pool child imports on its first task (result classes, time
#: zones, what connecting to a result backend by host name needs): imported
#: before forking, they are shared instead of loaded by every child.
CHILD_FIRST_TASK_MODULES = (
    'celery.result', 'celery.utils.time', 'celery.utils.iso8601', 'zoneinfo',
    'encodings.idna', 'stringprep', 'unicodedata', 'hmac', 'secrets', 'sysconfig',
)


def start_pool(w: WorkController) -> None:
    """Start ``w``'s pool if it waits to be started (forking pools start late)."""
    w.pool_start_pending = False
    if w.pool is None or w.pool.active:
        return
    # Children fork from here: what they would load on their first task is
    # loaded once here and shared, and freezing what is loaded keeps the
    # cyclic GC in each child from touching (and so copying) shared pages.
    _preload_for_children(w.app)
    gc.freeze()
    w.pool.start()


def _preload_for_children(app: Celery) -> None:
    for name in CHILD_FIRST_TASK_MODULES:
        importlib.import_module(name)
    # Children store results through it: backends that survive a fork are
    # kept by each child rather than built again.
    backend = app.backend
    if backend.survives_fork:
        backend.before_fork()


class Beat(bootsteps.StartStopStep):
    """Embedded beat scheduler (``-B``)."""

    label = 'Beat'
    conditional = True

    def __init__(self, w: WorkController, beat: bool = False, **kwargs: Any) -> None:
        self.enabled = beat
        w.beat = None
        super().__init__(w, beat=beat, **kwargs)

    def create(self, parent: WorkController | WorkerConsumer) -> Service:
        w = worker_of(self, parent)
        from celery.beat import EmbeddedService
        if w.pool_cls.__module__.endswith(('gevent', 'eventlet')):
            raise ImproperlyConfigured(ERR_B_GREEN)
        # Forking beat from a threaded pool's process is unsafe: run it as a thread.
        threaded = w.pool_cls.__module__.endswith(('thread', 'solo'))
        beat: Service = EmbeddedService(w.app, schedule_filename=w.schedule_filename,
                                        scheduler_cls=w.scheduler, thread=threaded)
        w.beat = beat
        return beat


class StateDB(bootsteps.Step):
    """Persist revoked ids and the clock across restarts (``--statedb``)."""

    def __init__(self, w: WorkController, **kwargs: Any) -> None:
        self.enabled = bool(w.statedb)
        w._persistence = None
        super().__init__(w, **kwargs)

    def create(self, parent: WorkController | WorkerConsumer) -> None:
        w = worker_of(self, parent)
        w._persistence = w.state.Persistent(w.state, w.statedb, w.app.clock)
        atexit.register(w._persistence.save)


class Consumer(bootsteps.StartStopStep):
    """The consumer: started last, it runs until the worker stops."""

    last = True

    def create(self, parent: WorkController | WorkerConsumer) -> WorkerConsumer:
        w = worker_of(self, parent)
        consumer: WorkerConsumer = self.instantiate(w.consumer_cls, w.process_task,
                                                    **self.consumer_options(w))
        w.consumer = consumer
        return consumer

    def consumer_options(self, w: WorkController) -> dict[str, object]:
        """The consumer class's keyword arguments, from the worker and its other steps."""
        # Prefetch for the most processes the pool may have (autoscale's max).
        processes = max(w.max_concurrency or w.concurrency, 1)
        return {
            'app': w.app,
            'hostname': w.hostname,
            'controller': w,
            'worker_options': w.options,
            'init_callback': w.ready_callback,
            # What the worker's other steps built.
            'pool': w.pool,
            'timer': w.timer,
            'hub': w.hub,
            # Flow of messages and events.
            'initial_prefetch_count': processes * w.prefetch_multiplier,
            'prefetch_multiplier': w.prefetch_multiplier,
            'disable_rate_limits': w.disable_rate_limits,
            'task_events': w.task_events,
        }

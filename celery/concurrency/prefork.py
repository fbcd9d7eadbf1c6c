"""The prefork pool: jobs run in forked child processes (the default pool).

Children forked with the default ``fork`` start method are run by
:class:`~celery.concurrency.procpool.ProcessPool`, which gives each child
pipes of its own, so a child killed at any moment stalls no other.  The
``spawn`` and ``forkserver`` start methods, and ``CELERY_PREFORK_POOL=billiard``
in the environment, use billiard's pool (:class:`~celery.concurrency.hubpool.HubPool`).
"""
from __future__ import annotations

import os
import signal as _signal
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import billiard

from celery.concurrency.base import BasePool
from celery.concurrency.hubpool import HubPool
from celery.concurrency.proc_alive import AliveWatch, report_alive
from celery.concurrency.proccore import JOBS_AHEAD_PER_CHILD
from celery.concurrency.procpool import CLOSE as POOL_CLOSE, RUN as POOL_RUN, ProcessPool
from celery.exceptions import ImproperlyConfigured
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('TaskPool', 'process_initializer', 'process_destructor')

logger = get_logger(__name__)

#: Pool states (as :class:`ProcessPool` numbers them).
RUN, CLOSE = POOL_RUN, POOL_CLOSE

#: Environment variable choosing the pool implementation for ``fork``:
#: ``pipes`` (the default, :class:`ProcessPool`) or ``billiard`` (:class:`HubPool`).
POOL_IMPLEMENTATION_ENV = 'CELERY_PREFORK_POOL'

#: Signal named by billiard's ``REMAP_SIGTERM`` environment variable (e.g.
#: ``SIGQUIT``): the worker then treats SIGTERM as that signal, and children
#: ignore it so only the parent decides how to shut down.
REMAP_SIGTERM = os.environ.get('REMAP_SIGTERM') or None
#: Name of the signal that terminates a child (SIGTERM unless remapped).
TERM_SIGNAME = REMAP_SIGTERM or 'SIGTERM'

#: Signals a child resets to their default action (the parent's handlers
#: for warm/cold shutdown must not run in children).
WORKER_SIGRESET = {'SIGTERM', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'}
#: Signals a child ignores: Ctrl-C goes to the whole process group and the
#: parent decides what shutdown means.
WORKER_SIGIGNORE = {'SIGINT', TERM_SIGNAME} if REMAP_SIGTERM else {'SIGINT'}

#: Seconds between a child's checks that its worker process still lives.
PARENT_CHECK_INTERVAL = 1.0
#: Exit code of a child whose worker process died.
EX_PARENT_GONE = 70

#: Jobs written ahead per child, beyond the one it runs.
JOBS_QUEUED_PER_CHILD = JOBS_AHEAD_PER_CHILD


def process_initializer(app: Celery | None = None, hostname: str | None = None) -> None:
    """Prepare a freshly forked child to execute tasks for ``app``.

    The child leaves when its parent is gone.  Sends
    :signal:`worker_process_init` once the child is ready.
    """
    _initialize_child(app, hostname, os.getppid())


def _initialize_child(app: Celery, hostname: str | None, worker_pid: int | None,
                      alive_writer: Any = None) -> None:
    # The pool passes the worker's pid: a worker killed before the child got
    # here would already have been replaced by init as the child's parent.
    try:
        _reset_child_signals()
        _die_with_parent(worker_pid or os.getppid())
        if app is not None:
            _prepare_app_in_child(app, hostname)
        from celery import signals
        signals.worker_process_init.send(sender=None)
        if alive_writer is not None:
            report_alive(alive_writer)
    except Exception as exc:
        # billiard would only report an exit code; say why the child died.
        logger.exception('Pool child %s failed to initialize: %r', os.getpid(), exc)
        raise


def _reset_child_signals() -> None:
    for name in WORKER_SIGRESET:
        _signal.signal(getattr(_signal, name), _signal.SIG_DFL)
    for name in WORKER_SIGIGNORE:
        _signal.signal(getattr(_signal, name), _signal.SIG_IGN)


def _die_with_parent(parent: int) -> None:
    # A SIGKILLed worker cannot stop its children, and an orphan would hold
    # queue locks and prefetched jobs: leave as soon as the parent is gone.
    # (prctl's PDEATHSIG follows the forking *thread*, and billiard forks
    # replacement children from its supervisor thread, so it cannot be used.)
    # The parent's pid comes from the parent: one killed before this child
    # got here would already have been replaced by init as our parent.
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_INTERVAL)
        os._exit(EX_PARENT_GONE)
    threading.Thread(target=watch, name='parent-watch', daemon=True).start()


def _prepare_app_in_child(app: Celery, hostname: str | None) -> None:
    from celery import platforms
    from celery._state import _set_task_join_will_block
    from celery.app import trace
    _set_task_join_will_block(True)
    platforms.set_mp_process_title('celeryd', hostname=hostname)
    app.loader.init_worker()
    app.loader.init_worker_process()
    logfile = os.environ.get('CELERY_LOG_FILE') or None
    if logfile and '%i' in logfile.lower():
        # Each child writes its own file, so logging is set up again here;
        # otherwise the child keeps the parent's set-up (handlers, redirected
        # stdout, warning filters) as forked, and redoing it would only copy
        # shared pages.
        app.log.already_setup = False
        app.log.setup(int(os.environ.get('CELERY_LOG_LEVEL', 0) or 0), logfile,
                      bool(os.environ.get('CELERY_LOG_REDIRECT', False)),
                      str(os.environ.get('CELERY_LOG_REDIRECT_LEVEL')),
                      hostname=hostname)
    # Tracers hold per-process state (the pid): the parent's are dropped and
    # the child builds each on the task's first run.
    trace.setup_worker_optimizations(app, hostname)


def process_destructor(pid: int, exitcode: int) -> None:
    """Send :signal:`worker_process_shutdown` as a child exits."""
    from celery import signals
    signals.worker_process_shutdown.send(sender=None, pid=pid, exitcode=exitcode)


class TaskPool(BasePool):
    """Run jobs in ``limit`` child processes (billiard), replacing children as needed.

    Options (passed by the worker): ``maxtasksperchild``,
    ``max_memory_per_child`` (KiB), ``timeout``/``soft_timeout`` (seconds),
    ``lost_worker_timeout``, ``max_restarts``, ``allow_restart``,
    ``semaphore``, ``initargs`` (``(app, hostname)``).
    """

    uses_semaphore = True
    callbacks_need_relay = True
    forks_children = True

    #: Pool class used when the worker runs an event loop (``threads`` false).
    Pool: type[ProcessPool] | type[HubPool] = ProcessPool
    #: Pool class used when results are read by threads (``threads`` true);
    #: the same class, as it reads results in a thread until registered
    #: with an event loop.
    BlockingPool: type[ProcessPool] | type[HubPool] = ProcessPool
    #: Pool class for the ``spawn`` and ``forkserver`` start methods, and for
    #: ``fork`` when ``CELERY_PREFORK_POOL=billiard`` is set.
    BilliardPool: type[HubPool] = HubPool
    #: Set by :meth:`on_start`: returns the pool's job-write statistics.
    write_stats: Any = None
    #: Set by :meth:`on_start`: children that have not reported being up.
    alive_watch: AliveWatch | None = None

    _pool: Any = None

    def on_start(self) -> None:
        """Fork the children."""
        options = dict(self.options)
        # Jobs go to the least busy child, which is already fair scheduling.
        pool_cls = self.BlockingPool if options.pop('threads', False) else self.Pool
        options.pop('sched_strategy', None)
        start_method = options.pop('start_method', None) or 'fork'
        if not use_process_pool(start_method):
            pool_cls = self.BilliardPool
        if start_method != 'fork':
            _start_semaphore_tracker()
        context = billiard.get_context(start_method)
        watch = self.alive_watch = AliveWatch(context, options.pop('proc_alive_timeout', None))
        # A fork server's children have it as parent, and it exits with the worker.
        parent = None if start_method == 'forkserver' else os.getpid()
        initargs = (*options.pop('initargs', (self.app, None)), parent, watch.writer)
        if issubclass(pool_cls, HubPool):
            options.update(enable_timeouts=True, synack=False)
        else:
            options.update(callbacks_propagate=self.callbacks_propagate)
        self._pool = pool_cls(
            processes=self.limit, initializer=_initialize_child, initargs=initargs,
            on_process_exit=process_destructor, context=context, alive_watch=watch, **options)
        self.write_stats = self._human_write_stats
        self.on_apply = self._apply_first

    def register_with_event_loop(self, loop: Any) -> None:
        """Read results and run callbacks in ``loop``'s thread."""
        super().register_with_event_loop(loop)
        if self._pool.read_results_in(loop):
            self.results_in_consumer_thread = True
            # Blocking on a free slot in the hub thread would deadlock: the
            # slot is released by result handling in that same thread.
            self.putlocks = False

    def _apply_first(self, *args: Any, **kwargs: Any) -> Any:
        # No event loop registered by the first job: read results on a thread.
        self._pool.ensure_result_reader()
        self.on_apply = self._pool.apply_async
        return self.on_apply(*args, **kwargs)

    def did_start_ok(self) -> bool:
        """Return whether every child came up."""
        return self._pool.did_start_ok()

    def maintain_pool(self, *args: Any, **kwargs: Any) -> None:
        """Replace exited children now."""
        self._pool.maintain_pool()

    def terminate_job(self, pid: int, signal: int | str | None = None) -> None:
        """Send ``signal`` (default SIGTERM) to the child executing a job."""
        self._pool.terminate_job(pid, _signum(signal))

    def grow(self, n: int = 1) -> None:
        """Add ``n`` children (started within a second by the supervisor)."""
        self._pool.grow(n)

    def shrink(self, n: int = 1) -> None:
        """Stop ``n`` idle children; raises :exc:`ValueError` if all are busy."""
        self._pool.shrink(n)

    def restart(self) -> None:
        """Replace every child once it finishes its current job."""
        if not self._pool.allow_restart:
            raise ImproperlyConfigured(
                'Pool restarts are disabled: enable the worker_pool_restarts setting')
        self._pool.restart()

    def on_stop(self) -> None:
        """Wait for running jobs, then stop the children."""
        if self._pool is not None and self._pool.is_open:
            self._pool.close()
            self._pool.join()
            self._pool.stop_reading_results()
        self._close_alive_watch()
        self.relay.close()

    def on_terminate(self) -> None:
        """Kill the children now."""
        if self._pool is not None:
            self._pool.stop_reading_results()
            self._pool.terminate()
            self._pool = None
        self._close_alive_watch()
        self.relay.close()

    def _close_alive_watch(self) -> None:
        if self.alive_watch is not None:
            self.alive_watch.close()
            self.alive_watch = None

    def on_close(self) -> None:
        """Stop accepting jobs."""
        if self._pool is not None and self._pool.accepting:
            self._pool.close()

    def _get_info(self) -> dict[str, Any]:
        pool = self._pool
        info = super()._get_info()
        if pool is None:
            return info
        info.update({
            'max-concurrency': pool.size,
            'processes': pool.pids(),
            'max-tasks-per-child': pool.maxtasksperchild or 'N/A',
            'put-guarded-by-semaphore': self.putlocks,
            'timeouts': (pool.soft_timeout or 0, pool.timeout or 0),
            'writes': self._human_write_stats(),
        })
        return info

    def _human_write_stats(self) -> dict[str, Any]:
        pool = self._pool
        return _write_stats(pool.writes if pool else {}, len(pool.pids()) if pool else 0)

    def child_pids(self) -> set[int] | None:
        """Pids of the live children (None before the pool started)."""
        return None if self._pool is None else set(self._pool.live_pids())

    @property
    def num_processes(self) -> int:
        """Number of children the pool keeps."""
        return self.limit if self._pool is None else self._pool.size

    @property
    def max_jobs_in_flight(self) -> int:
        """One job running and :data:`JOBS_QUEUED_PER_CHILD` waiting per child.

        A child that finishes a job takes the next from the pipe at once
        instead of idling until the consumer has read its result.
        """
        return self.num_processes * (1 + JOBS_QUEUED_PER_CHILD)

    def take_back(self, requests: Iterable[Any]) -> list[Any]:
        """Withdraw the jobs of ``requests`` still waiting in the job pipe."""
        by_result = {}
        for request in requests:
            result = request._apply_result() if request._apply_result is not None else None
            if result is not None:
                by_result[id(result)] = (result, request)
        if self._pool is None or not by_result:
            return []
        taken = self._pool.take_back([result for result, _ in by_result.values()])
        return [by_result[id(result)][1] for result in taken]


def use_process_pool(start_method: str = 'fork') -> bool:
    """Whether children started by ``start_method`` are run by :class:`ProcessPool`."""
    choice = os.environ.get(POOL_IMPLEMENTATION_ENV, 'pipes').strip().lower()
    return start_method == 'fork' and choice != 'billiard'


def _start_semaphore_tracker() -> None:
    # Non-fork start methods share locks through billiard's semaphore tracker
    # process, started with sys.stderr's descriptor: the worker has replaced
    # sys.stderr by a logging proxy that has none, so start it with the real one.
    from billiard import semaphore_tracker
    redirected, sys.stderr = sys.stderr, sys.__stderr__
    try:
        semaphore_tracker.ensure_running()
    finally:
        sys.stderr = redirected


def _signum(sig: int | str | None) -> int | None:
    if sig is None or isinstance(sig, int):
        return sig
    name = sig.upper()
    name = name if name.startswith('SIG') else f'SIG{name}'
    try:
        return int(_signal.Signals[name])
    except KeyError:
        raise ValueError(f'Unknown signal name {sig!r}: use e.g. SIGTERM, SIGKILL or SIGUSR1') from None


def _write_stats(writes: Any, procs: int) -> dict[str, Any]:
    counts = list(writes.values())
    total = sum(counts)

    def percent(n: int) -> str:
        return f'{n / total * 100:.2f}%' if total else '0.00%'
    return {
        'total': total,
        'avg': percent(total / max(len(counts), 1)),
        'all': ', '.join(percent(n) for n in counts),
        'raw': ', '.join(str(n) for n in counts),
        'strategy': 'fair',
        'inqueues': {'total': procs, 'active': procs},
    }

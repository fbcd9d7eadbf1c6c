"""The beat service loop, standalone or embedded in a worker (``worker -B``)."""
from __future__ import annotations

import threading
import time
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from celery import platforms, signals
from celery.beat.remote_control import BeatPidbox, beat_nodename
from celery.utils.imports import load_extension_class_names, symbol_by_name
from celery.utils.log import get_logger
from celery.utils.time import humanize_seconds

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.beat.scheduler import Scheduler

__all__ = ('Service', 'EmbeddedService')

logger = get_logger('celery.beat')


class Service:
    """Run a scheduler: tick, sleep, repeat until stopped; sync on the way out."""

    scheduler_cls: str | type[Scheduler] = 'celery.beat:PersistentScheduler'

    #: The remote control node class (used when remote control is enabled).
    Pidbox = BeatPidbox

    def __init__(self, app: Celery, max_interval: float | None = None,
                 schedule_filename: str | None = None,
                 scheduler_cls: str | type[Scheduler] | None = None,
                 remote_control: bool | None = None, hostname: str | None = None) -> None:
        self.app = app
        self.max_interval = max_interval or app.conf.beat_max_loop_interval
        self.scheduler_cls = scheduler_cls or app.conf.beat_scheduler or self.scheduler_cls
        self.schedule_filename = schedule_filename or app.conf.beat_schedule_filename
        self.remote_control = (app.conf.get('beat_enable_remote_control', False)
                               if remote_control is None else remote_control)
        self.hostname = beat_nodename(hostname)
        #: When the scheduler last ticked (``time.monotonic()``); the start time at first.
        self.last_tick = time.monotonic()
        self.pidbox: BeatPidbox | None = None
        self._is_shutdown = threading.Event()
        self._is_stopped = threading.Event()

    def __reduce__(self) -> tuple:
        return self.__class__, (self.app, self.max_interval, self.schedule_filename,
                                self.scheduler_cls, self.remote_control, self.hostname)

    def start(self, embedded_process: bool = False) -> None:
        """Run the scheduler loop until :meth:`stop` (or SIGTERM/SIGINT)."""
        logger.info('beat: Starting...')
        logger.debug('beat: Ticking with max interval->%s',
                     humanize_seconds(self.scheduler.max_interval))
        signals.beat_init.send(sender=self)
        if embedded_process:
            signals.beat_embedded_init.send(sender=self)
            platforms.set_process_title('celery beat')
        self.last_tick = time.monotonic()
        if self.remote_control:
            self._start_pidbox()
        try:
            while not self._is_shutdown.is_set():
                interval = self.scheduler.tick()
                self.last_tick = time.monotonic()
                if interval and interval > 0.0:
                    logger.debug('beat: Waking up %s.', humanize_seconds(interval, prefix='in '))
                    # An Event wait, unlike sleep, returns at once when stopped.
                    self._is_shutdown.wait(interval)
                    if self.scheduler.should_sync():
                        self.scheduler._do_sync()
        except (KeyboardInterrupt, SystemExit):
            self._is_shutdown.set()
        finally:
            if self.pidbox is not None:
                self.pidbox.stop()
            self.sync()

    def _start_pidbox(self) -> None:
        try:
            self.pidbox = self.Pidbox(self)
            self.pidbox.start()
        except Exception as exc:  # remote control is a convenience: beat runs on
            logger.error('beat: cannot start remote control: %r', exc, exc_info=True)

    def sync(self) -> None:
        """Persist and close the scheduler (once)."""
        if self._is_stopped.is_set():
            return
        try:
            self.scheduler.close()
        finally:
            self._is_stopped.set()

    def stop(self, wait: bool = False) -> None:
        """Ask the loop to stop; with ``wait``, block until it has synced."""
        logger.info('beat: Shutting down...')
        self._is_shutdown.set()
        if wait:
            self._is_stopped.wait()

    def get_scheduler(self, lazy: bool = False,
                      extension_namespace: str = 'celery.beat_schedulers') -> Scheduler:
        """Instantiate the scheduler class (a class, a path, or an entry-point alias)."""
        aliases = dict(load_extension_class_names(extension_namespace))
        scheduler_cls: type[Scheduler] = self.scheduler_cls if not isinstance(
            self.scheduler_cls, str) else symbol_by_name(self.scheduler_cls, aliases=aliases)
        return scheduler_cls(app=self.app, schedule_filename=self.schedule_filename,
                             max_interval=self.max_interval, lazy=lazy)

    @cached_property
    def scheduler(self) -> Scheduler:
        """The scheduler instance this service runs."""
        return self.get_scheduler()


class _Threaded(threading.Thread):
    """Beat in a daemon thread of the worker process."""

    def __init__(self, app: Celery, **kwargs: Any) -> None:
        super().__init__(name='Beat', daemon=True)
        self.app = app
        self.service = Service(app, **kwargs)

    def run(self) -> None:
        self.app.set_current()
        self.service.start()

    def stop(self) -> None:
        """Stop the service and wait until the schedule is synced."""
        self.service.stop(wait=True)


@cache
def _process_class() -> type:
    # billiard.context.Process knows how to start itself (_Popen); the bare
    # billiard.process.Process base does not.
    from billiard.context import Process

    class _Process(Process):
        """Beat in a child process of the worker."""

        def __init__(self, app: Celery, **kwargs: Any) -> None:
            super().__init__()
            self.app = app
            self.service = Service(app, **kwargs)
            self.name = 'Beat'

        def run(self) -> None:
            platforms.signals.reset('SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2')
            # Terminating the child must still sync the schedule.
            platforms.signals['SIGTERM'] = _raise_system_exit
            self.app.set_default()
            self.app.set_current()
            self.service.start(embedded_process=True)

        def stop(self) -> None:
            """Terminate the child (it syncs its schedule before exiting)."""
            self.service.stop()
            self.terminate()

    return _Process


def _raise_system_exit(signum: int, frame: Any) -> None:
    raise SystemExit()


def EmbeddedService(app: Celery, max_interval: float | None = None,
                    **kwargs: Any) -> Any:
    """Return beat as a child process (default) or a thread (``thread=True``)."""
    if kwargs.pop('thread', False):
        # A short max interval lets the thread notice a stop request quickly.
        return _Threaded(app, max_interval=1, **kwargs)
    return _process_class()(app, max_interval=max_interval, **kwargs)

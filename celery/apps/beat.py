"""The ``celery beat`` program: banner, logging, pidfile and signal handling."""
from __future__ import annotations

import socket
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from celery import VERSION_BANNER, beat, platforms
from celery.utils.imports import qualname
from celery.utils.log import LOG_LEVELS, get_logger
from celery.utils.time import humanize_seconds

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.beat import Scheduler

__all__ = ('Beat',)

logger = get_logger('celery.beat')

# Celery's user-visible banner text, kept verbatim.
STARTUP_INFO_FMT = """
LocalTime -> {timestamp}
Configuration ->
    . broker -> {conninfo}
    . loader -> {loader}
    . scheduler -> {scheduler}
{scheduler_info}
    . logfile -> {logfile}@%{loglevel}
    . maxinterval -> {hmax_interval} ({max_interval}s)
""".strip()


class Beat:
    """Run the beat scheduler as a program (what ``celery beat`` starts)."""

    Service = beat.Service
    if TYPE_CHECKING:
        #: The app: given, or set on the class by ``app.Beat``.
        app: Celery
    else:
        # Celery's class attribute; every instance has its app (see __init__).
        app = None

    def __init__(self, max_interval: float | None = None, app: Celery | None = None,
                 socket_timeout: float = 30, pidfile: str | None = None,
                 no_color: bool | None = None, loglevel: str | int = 'WARN',
                 logfile: str | None = None, schedule: str | None = None,
                 scheduler: str | type[Scheduler] | None = None,
                 scheduler_cls: str | type[Scheduler] | None = None,
                 redirect_stdouts: bool | None = None,
                 redirect_stdouts_level: str | None = None, quiet: bool = False,
                 **kwargs: Any) -> None:
        self.app = app = app or self.app
        either = app.either
        self.loglevel = loglevel
        self.logfile = logfile
        self.schedule = either('beat_schedule_filename', schedule)
        self.scheduler_cls = either('beat_scheduler', scheduler, scheduler_cls)
        self.redirect_stdouts = either('worker_redirect_stdouts', redirect_stdouts)
        self.redirect_stdouts_level = either('worker_redirect_stdouts_level',
                                             redirect_stdouts_level)
        self.quiet = quiet
        self.max_interval = max_interval
        self.socket_timeout = socket_timeout
        self.no_color = no_color
        self.colored = app.log.colored(
            self.logfile, enabled=not no_color if no_color is not None else no_color)
        self.pidfile = pidfile
        if isinstance(self.loglevel, str):
            self.loglevel = LOG_LEVELS[self.loglevel.upper()]

    def run(self) -> None:
        """Print the banner, set up the app and run the scheduler until stopped."""
        if not self.quiet:
            print(str(self.colored.cyan(f'celery beat v{VERSION_BANNER} is starting.')))
        self.init_loader()
        self.set_process_title()
        self.start_scheduler()

    def setup_logging(self, colorize: bool | None = None) -> None:
        """Configure logging to the log file (or stderr) at the chosen level."""
        if colorize is None and self.no_color is not None:
            colorize = not self.no_color
        self.app.log.setup(self.loglevel, self.logfile, self.redirect_stdouts,
                           self.redirect_stdouts_level, colorize=colorize)

    def start_scheduler(self) -> None:
        """Create the service, print the banner and run it."""
        if self.pidfile:
            platforms.create_pidlock(self.pidfile)
        service = self.Service(app=self.app, max_interval=self.max_interval,
                               scheduler_cls=self.scheduler_cls,
                               schedule_filename=self.schedule)
        if not self.quiet:
            print(self.banner(service))
        self.setup_logging()
        if self.socket_timeout:
            logger.debug('Setting default socket timeout to %r', self.socket_timeout)
            socket.setdefaulttimeout(self.socket_timeout)
        try:
            self.install_sync_handler(service)
            service.start()
        except Exception as exc:
            logger.critical('beat raised exception %s: %r', exc.__class__, exc, exc_info=True)
            raise

    def banner(self, service: beat.Service) -> str:
        """Return the start-up banner."""
        paint = self.colored
        summary = paint.reset(self.startup_info(service))
        # A small logo line in blue and magenta, then the summary in plain text.
        return str(paint.blue('__    ', paint.magenta('-'), paint.blue('    ... __   '),
                              paint.magenta('-'), paint.blue('        _\n'), summary))

    def init_loader(self) -> None:
        """Import the configured task modules and finalize the app."""
        self.app.loader.init_worker()
        self.app.finalize()

    def startup_info(self, service: beat.Service) -> str:
        """Return the banner's configuration summary."""
        scheduler = service.get_scheduler(lazy=True)
        max_interval = scheduler.max_interval
        # In the order the banner shows them.
        return STARTUP_INFO_FMT.format(
            timestamp=datetime.now().replace(microsecond=0),
            conninfo=self.app.connection().as_uri(),
            loader=qualname(self.app.loader),
            scheduler=qualname(scheduler),
            scheduler_info=scheduler.info,
            logfile=self.logfile or '[stderr]',
            loglevel=LOG_LEVELS[self.loglevel],
            hmax_interval=humanize_seconds(max_interval),
            max_interval=max_interval,
        )

    def set_process_title(self) -> None:
        """Show ``celery beat`` and the arguments in ``ps``."""
        arg_start = 2 if 'manage' in sys.argv[0] else 1
        platforms.set_process_title('celery beat', info=' '.join(sys.argv[arg_start:]))

    def install_sync_handler(self, service: beat.Service) -> None:
        """Make SIGTERM and SIGINT save the schedule, then exit."""
        def _sync(signum: int, frame: Any) -> None:
            # Only unwind: the service saves the schedule on its way out.
            # Saving here, in the middle of whatever the loop was doing (a
            # publish, a shelve write), could fail, and the failure would
            # surface in that code instead of stopping beat.
            raise SystemExit()

        platforms.signals.update(SIGTERM=_sync, SIGINT=_sync)

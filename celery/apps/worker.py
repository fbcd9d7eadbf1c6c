"""The worker as a program: start-up banner, logging, signal handlers and shutdown.

:class:`Worker` adds to :class:`celery.worker.WorkController` what a
process started from the command line needs and an embedded worker does not.
"""
from __future__ import annotations

import logging
import os
import platform as _platform
import sys
import threading
import traceback
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TextIO

from celery import VERSION_BANNER, platforms, signals
from celery.exceptions import WorkerTerminate
from celery.platforms import EX_FAILURE, EX_OK, check_privileges
from celery.utils.log import get_logger, in_sighandler, mlevel, set_in_sighandler
from celery.utils.term import colored
from celery.utils.threads import bound_open_broker_sockets  # noqa: F401 - reachable here, as in Celery
from celery.worker.worker import WorkController

if TYPE_CHECKING:
    from celery.worker.consumer.consumer import Consumer

__all__ = ('Worker', 'install_worker_term_handler', 'install_worker_term_hard_handler',
           'install_worker_int_handler', 'install_worker_restart_handler',
           'install_cry_handler', 'install_rdb_handler', 'format_thread_stacks')

logger = get_logger(__name__)

is_jython = sys.platform.startswith('java')
is_pypy = _platform.python_implementation() == 'PyPy'

#: billiard's ``REMAP_SIGTERM`` at import (``'SIGQUIT'`` makes SIGTERM a cold shutdown);
#: the handler reads the environment again when installed.
REMAP_SIGTERM = os.environ.get('REMAP_SIGTERM')

#: Seconds a broker socket may block a worker that is shutting down.
SHUTDOWN_SOCKET_TIMEOUT = 5.0

# Celery's user-visible banner texts, kept verbatim (people and scripts read them).
BANNER = """\
{hostname} v{version}

{platform} {timestamp}

[config]
.> app:         {app}
.> transport:   {conninfo}
.> results:     {results}
.> concurrency: {concurrency}
.> task events: {events}

[queues]
{queues}
"""

EXTRA_INFO_FMT = """
[tasks]
{tasks}
"""

# Celery's user-visible text, kept verbatim
ARTLINES = [
    ' --------------',
    '--- ***** -----',
    '-- ******* ----',
    '- *** --- * ---',
    '- ** ----------',
    '- ** ----------',
    '- ** ----------',
    '- ** ----------',
    '- *** --- * ---',
    '-- ******* ----',
    '--- ***** -----',
    ' --------------',
]


def safe_say(msg: str, f: TextIO | None = None) -> None:
    """Write a line to ``f`` (the real stderr by default); safe inside signal handlers."""
    platforms.write_stream(f or sys.__stderr__, msg)


def active_thread_count() -> int:
    """Return how many threads started through :mod:`threading` are alive."""
    # Threads threading did not start (C extensions, the debugger) show up as
    # "Dummy-N" placeholders; they are not the worker's to wait for.
    return sum(1 for thread in threading.enumerate() if not thread.name.startswith('Dummy-'))


class Worker(WorkController):
    """The worker program started by ``celery worker``."""

    def on_before_init(self, quiet: bool = False, **kwargs: Any) -> None:
        self.quiet = quiet
        # Lets users configure workers by node name before anything is set up.
        signals.celeryd_init.send(sender=self.hostname, instance=self,
                                  conf=self.app.conf, options=kwargs)
        check_privileges(self.app.conf.accept_content)

    def on_after_init(self, purge: bool = False, no_color: bool | None = None,
                      redirect_stdouts: bool | None = None,
                      redirect_stdouts_level: str | None = None, **kwargs: Any) -> None:
        self.redirect_stdouts = self.app.either('worker_redirect_stdouts', redirect_stdouts)
        self.redirect_stdouts_level = self.app.either('worker_redirect_stdouts_level',
                                                      redirect_stdouts_level)
        self.purge = purge
        self.no_color = no_color
        self._isatty = platforms.isatty(sys.stdout)
        self.colored = colored(enabled=self._use_color())

    def _use_color(self) -> bool:
        if self.no_color:
            return False
        configured = self.app.conf.worker_log_color
        if configured is not None:
            return bool(configured)
        return self._isatty and not self.logfile

    def on_init_blueprint(self) -> None:
        self._custom_logging = self.setup_logging()

    def on_start(self) -> None:
        super().on_start()
        # Lets users change queues after -Q has been applied.
        signals.celeryd_after_setup.send(sender=self.hostname, instance=self, conf=self.app.conf)
        if self.purge:
            self.purge_messages()
        if not self.quiet:
            self.emit_banner()
        self.set_process_status('-active-')
        self.install_platform_tweaks(self)
        if not self._custom_logging and self.redirect_stdouts:
            self.app.log.redirect_stdouts(self.redirect_stdouts_level)

    def on_consumer_ready(self, consumer: Consumer) -> None:
        signals.worker_ready.send(sender=consumer)
        logger.info('%s ready.', self.hostname)

    def setup_logging(self, colorize: bool | None = None) -> bool:
        """Configure logging for the worker; True if a ``setup_logging`` receiver took over."""
        if colorize is None and self.no_color is not None:
            colorize = not self.no_color
        return bool(self.app.log.setup(self.loglevel, self.logfile, redirect_stdouts=False,
                                       colorize=colorize, hostname=self.hostname))

    def purge_messages(self) -> int:
        """Discard every message waiting in the queues this worker consumes from."""
        from celery.bin.purge import purge_queues
        names = list(self.app.amqp.queues.consume_from)
        with self.app.connection_for_write() as connection:
            count = purge_queues(connection, names)
        if count:
            noun = 'message' if count == 1 else 'messages'
            print(f'purge: Erased {count} {noun} from the queue.\n', flush=True)
        return count

    def tasklist(self, include_builtins: bool = True, sep: str = '\n', int_: str = 'celery.') -> str:
        """Return the registered task names as banner lines."""
        return sep.join(f'  . {task}' for task in sorted(self.app.tasks)
                        if include_builtins or not task.startswith(int_))

    def extra_info(self) -> str | None:
        """Return the ``[tasks]`` banner section when logging at INFO or more verbose."""
        # A number once setup_instance converted it (None: logging not configured).
        level: int | None = mlevel(self.loglevel)
        if level is None or level > logging.INFO:
            return None
        return EXTRA_INFO_FMT.format(tasks=self.tasklist(include_builtins=level <= logging.DEBUG))

    def emit_banner(self) -> None:
        """Print the start-up banner to the real stdout."""
        banner = str(self.colored.cyan(' \n', self.startup_info()))
        tasks = str(self.colored.reset(self.extra_info() or ''))
        print(banner + tasks, file=sys.__stdout__, flush=True)

    def startup_info(self, artlines: bool = True) -> str:
        """Return the banner: node, version, platform, config and queues."""
        app = self.app
        concurrency = str(self.concurrency)
        if self.autoscale:
            high, low = self.autoscale
            concurrency = f'{{min={low}, max={high}}}'
        pool = self.pool_cls if isinstance(self.pool_cls, str) else self.pool_cls.__module__
        concurrency += f" ({pool.split('.')[-1]})"
        events = 'ON' if self.task_events else 'OFF (enable -E to monitor tasks in this worker)'
        banner = BANNER.format(
            app=f'{app.main or "__main__"}:{id(app):#x}',
            hostname=self.hostname,
            timestamp=datetime.now().replace(microsecond=0),
            version=VERSION_BANNER,
            conninfo=app.connection().as_uri(),
            results=app.backend.as_uri(),
            concurrency=concurrency,
            platform=_platform.platform(),
            events=events,
            queues=app.amqp.queues.format(indent=0, indent_first=False),
        ).splitlines()
        if artlines:
            # The art column is 15 wide; lines past it are indented to match.
            for i, line in enumerate(banner):
                art = ARTLINES[i] + ' ' if i < len(ARTLINES) else ' ' * 16
                banner[i] = art + line
        return '\n'.join(banner) + '\n'

    def install_platform_tweaks(self, worker: Worker) -> None:
        """Install the signal handlers of the worker program."""
        if self.app.IS_macOS:
            self.macOS_proxy_detection_workaround()
            install_HUP_not_supported_handler(worker)
        elif not self._isatty:
            # On a terminal, closing the window must not restart the worker in the background.
            install_worker_restart_handler(worker)
        install_worker_term_handler(worker)
        install_worker_term_hard_handler(worker)
        install_worker_int_handler(worker)
        install_cry_handler()
        install_rdb_handler()

    def macOS_proxy_detection_workaround(self) -> None:
        """Keep urllib from asking macOS for the system proxies (it crashes in forked children)."""
        # urllib only asks the system when no ``*_proxy`` environment variable is set.
        os.environ.setdefault('celery_dummy_proxy', 'set_by_celeryd')

    def set_process_status(self, info: str) -> str:
        """Show ``info`` in the process title."""
        return platforms.set_mp_process_title(
            'celeryd', info=f'{info} ({platforms.strargv(sys.argv)})', hostname=self.hostname)


def _is_main_process() -> bool:
    from celery.utils.log import current_process
    return bool(current_process().name == 'MainProcess')


def _shutdown_handler(worker: Worker, sig: str = 'SIGTERM', how: str = 'Warm',
                      callback: Callable[[Worker], Any] | None = None,
                      exitcode: int = EX_OK, verbose: bool = True) -> None:
    """Install a handler for ``sig`` that asks the worker for a warm or cold shutdown."""
    def _handle_request(*args: Any) -> None:
        with in_sighandler():
            from celery.worker import state
            # The flag is set first: a second signal may arrive while this handler runs.
            warm_shutdown_underway = state.should_stop is not None and state.should_stop is not False
            if how == 'Warm':
                state.should_stop = exitcode
            else:
                # A cold shutdown ends in terminate(), which takes no exit code.
                worker.exitcode = exitcode
                state.should_terminate = exitcode
            if _is_main_process():
                if callback:
                    callback(worker)
                if verbose:
                    safe_say(f'worker: {how} shutdown (MainProcess)', sys.__stdout__)
                signals.worker_shutting_down.send(sender=worker.hostname, sig=sig, how=how,
                                                  exitcode=exitcode)
            if how == 'Cold' and warm_shutdown_underway:
                # Nothing checks the flag while waiting for running tasks: interrupt the wait.
                raise WorkerTerminate(exitcode)
    _handle_request.__name__ = f'worker_{how}'
    platforms.signals[sig] = _handle_request


def on_cold_shutdown(worker: Worker) -> None:
    """Run by the cold-shutdown handler: from now on a stop signal is a hard shutdown."""
    during_soft_shutdown(worker)


def during_soft_shutdown(worker: Worker) -> None:
    """Make SIGTERM, SIGINT and SIGQUIT end the worker at once (no waiting for tasks)."""
    def hard_shutdown_handler(*args: Any) -> None:
        on_hard_shutdown(worker)
    for sig in ('SIGTERM', 'SIGINT', 'SIGQUIT'):
        platforms.signals[sig] = hard_shutdown_handler


def on_hard_shutdown(worker: Worker) -> None:
    """Stop now: running tasks are not waited for; exits with ``EX_FAILURE``."""
    set_in_sighandler(True)
    safe_say('worker: Hard shutdown (MainProcess)', sys.__stdout__)
    raise WorkerTerminate(EX_FAILURE)


def install_worker_term_handler(worker: Worker, sig: str = 'SIGTERM') -> None:
    """SIGTERM: warm shutdown, or cold when billiard's ``REMAP_SIGTERM=SIGQUIT`` is set."""
    if os.environ.get('REMAP_SIGTERM') == 'SIGQUIT':
        _shutdown_handler(worker, sig=sig, how='Cold', exitcode=EX_FAILURE,
                          callback=on_cold_shutdown)
    else:
        _shutdown_handler(worker, sig=sig, how='Warm')


def install_worker_term_hard_handler(worker: Worker, sig: str = 'SIGQUIT',
                                     callback: Callable[[Worker], Any] | None = None) -> None:
    """SIGQUIT: cold shutdown (terminate running tasks; unacked messages are redelivered)."""
    _shutdown_handler(worker, sig=sig, how='Cold', exitcode=EX_FAILURE,
                      callback=callback or on_cold_shutdown)


def on_SIGINT(worker: Worker) -> None:
    """Run by the first Ctrl+C: the next one is a cold shutdown."""
    # Installed before telling the user, who may press Ctrl+C again at once.
    install_worker_term_hard_handler(worker, sig='SIGINT')
    safe_say('worker: Hitting Ctrl+C again will terminate all running tasks!', sys.__stdout__)


def install_worker_int_handler(worker: Worker, sig: str = 'SIGINT') -> None:
    """SIGINT: warm shutdown the first time, cold the second."""
    _shutdown_handler(worker, sig=sig, how='Warm', callback=on_SIGINT)


def _reload_current_worker() -> None:
    platforms.close_open_fds([sys.__stdin__, sys.__stdout__, sys.__stderr__])
    # orig_argv keeps ``-m celery``, which sys.argv loses.
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def install_worker_restart_handler(worker: Worker, sig: str = 'SIGHUP') -> None:
    """SIGHUP: stop warmly, then exec the same command line again."""
    def restart_worker_sig_handler(*args: Any) -> None:
        set_in_sighandler(True)
        safe_say(f"Restarting celery worker ({' '.join(sys.argv)})", sys.__stdout__)
        import atexit
        atexit.register(_reload_current_worker)
        from celery.worker import state
        state.should_stop = EX_OK
    platforms.signals[sig] = restart_worker_sig_handler


def install_HUP_not_supported_handler(worker: Worker, sig: str = 'SIGHUP') -> None:
    """SIGHUP where restarting is unsafe (macOS): only say it is not supported."""
    def warn_on_HUP_handler(signum: Any, frame: Any) -> None:
        with in_sighandler():
            # Celery's user-visible text, kept verbatim
            safe_say(f'{sig} not supported: Restarting with {sig} is unstable on this platform!')
    platforms.signals[sig] = warn_on_HUP_handler


def format_thread_stacks() -> str:
    """Return the current stack of every thread, named, for debugging a stuck worker."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    sections = []
    for ident, frame in sys._current_frames().items():
        stack = ''.join(traceback.format_stack(frame))
        sections.append(f'=== Thread {names.get(ident, "?")} ({ident}) ===\n{stack}')
    return '\n'.join(sections)


def install_cry_handler(sig: str = 'SIGUSR1') -> None:
    """SIGUSR1: dump the traceback of every thread to stderr."""
    def cry_handler(*args: Any) -> None:
        with in_sighandler():
            safe_say(format_thread_stacks(), sys.__stderr__)
    platforms.signals[sig] = cry_handler


def install_rdb_handler(envvar: str = 'CELERY_RDBSIG', sig: str = 'SIGUSR2') -> None:
    """SIGUSR2: open a remote debugger, only when ``CELERY_RDBSIG`` is set."""
    def rdb_handler(*args: Any) -> None:
        from celery.contrib.rdb import set_trace
        frame = args[1] if len(args) > 1 else None
        set_trace(frame)
    if os.environ.get(envvar):
        platforms.signals[sig] = rdb_handler


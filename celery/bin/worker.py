"""``celery worker``: start a worker instance."""
from __future__ import annotations

import difflib
import os
import sys
from typing import TYPE_CHECKING, Any

import click
from click import Context, ParamType

from celery.bin.base import (COMMA_SEPARATED_LIST, LOG_LEVEL, CeleryDaemonCommand, CeleryOption,
                             handle_preload_options)
from celery.exceptions import ImproperlyConfigured, SecurityError, WorkerTerminate
from celery.platforms import EX_FAILURE, EX_OK, detached, maybe_drop_privileges
from celery.utils.log import get_logger

__all__ = ('worker', 'detach', 'POOL_NAMES', 'WorkersPool', 'WORKERS_POOL', 'AUTO_CONCURRENCY')

logger = get_logger(__name__)

#: The ``-P`` choices; eventlet/gevent also need their library installed.
POOL_NAMES = ('prefork', 'eventlet', 'gevent', 'solo', 'processes', 'threads', 'custom')

#: ``-c auto``: as many pool workers as CPUs (the same as leaving ``-c`` out).
AUTO_CONCURRENCY = 'auto'

#: Set in the environment to detach without forking (for debugging ``-D``); read again by detach().
C_FAKEFORK = os.environ.get('C_FAKEFORK')

if TYPE_CHECKING:
    from celery.app.base import Celery

#: Options that must not be passed on to the re-executed, detached worker.
_DETACH_FLAGS = ('-D', '--detach')
_DETACH_OPTIONS_WITH_VALUE = ('--uid', '--gid')


class Hostname(ParamType):
    """A node name; ``%h``, ``%n`` and ``%d`` expand to host, name and domain."""

    name = 'hostname'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> str:
        from celery.utils.nodenames import default_nodename, host_format
        return host_format(default_nodename(str(value)))


class Autoscale(ParamType):
    """``max,min`` (either order) or a single ``max``, returned as ``(max, min)``."""

    name = '<min workers>, <max workers>'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value[0], value[1]
        parts = [part.strip() for part in str(value).split(',')]
        if len(parts) > 2:
            self.fail(f'Expected two comma separated integers or one integer. Got {len(parts)} instead.',
                      param, ctx)
        try:
            numbers = [int(part) for part in parts]
        except ValueError:
            self.fail(f'Expected integers like 10,3 (max,min). Got {value!r} instead.', param, ctx)
        if len(numbers) == 1:
            numbers.append(0)
        high, low = sorted(numbers, reverse=True)
        return high, low


class CeleryBeat(ParamType):
    """The ``-B`` flag: refused on Windows, where beat can't be embedded."""

    name = 'beat'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> object:
        if value and ctx is not None and ctx.obj is not None and ctx.obj.app.IS_WINDOWS:
            self.fail('-B option does not work on Windows. '
                      'Please run celery beat as a separate service.', param, ctx)
        return value


class WorkersPool(click.Choice):
    """The ``-P`` value: a pool name from :data:`POOL_NAMES` (any case), or a pool class."""

    name = 'pool'

    def __init__(self) -> None:
        super().__init__(POOL_NAMES, case_sensitive=False)

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> object:
        """Return the pool name in lower case; a class is passed through unchanged."""
        if not isinstance(value, str):
            return value
        name = super().convert(value, param, ctx).lower()
        if name == 'custom':
            from celery import concurrency
            if 'custom' not in concurrency.ALIASES:
                self.fail('-P custom needs CELERY_CUSTOM_WORKER_POOL set to the pool class '
                          "('module:Class').", param, ctx)
        return name


class Concurrency(click.ParamType):
    """``-c``: a number of pool workers (0 or :data:`AUTO_CONCURRENCY` for one per CPU)."""

    name = 'concurrency'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> int:
        """Return the number of pool workers; 0 means the default."""
        if isinstance(value, int) or str(value).strip().lower() != AUTO_CONCURRENCY:
            # Typed as a bare ParamType: IntRange declares int input, yet
            # converts the command line's text too.
            at_least_zero: ParamType = click.IntRange(min=0)
            number: int = at_least_zero.convert(value, param, ctx)
            return number
        return 0


HOSTNAME = Hostname()
AUTOSCALE = Autoscale()
CELERY_BEAT = CeleryBeat()
WORKERS_POOL = WorkersPool()
CONCURRENCY = Concurrency()


def _conf_default(setting: str, zero_is_unset: bool = False) -> Any:
    """Return a click callback falling back to the app setting ``setting``."""
    def callback(ctx: Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None and not (zero_is_unset and value == 0):
            return value
        return ctx.obj.app.conf.get(setting) if ctx.obj is not None else value
    return callback


def _strip_detach_args(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in _DETACH_FLAGS:
            continue
        if arg in _DETACH_OPTIONS_WITH_VALUE:
            skip_next = True
            continue
        if arg.partition('=')[0] in _DETACH_OPTIONS_WITH_VALUE:
            continue
        out.append(arg)
    return out


def detach(path: str, argv: list[str], logfile: str | None = None, pidfile: str | None = None,
           uid: int | str | None = None, gid: int | str | None = None,
           umask: int | str | None = None, workdir: str | None = None,
           fake: bool = False, app: Celery | None = None, executable: str | None = None,
           hostname: str | None = None) -> int:
    """Detach from the terminal and re-execute ``path argv`` as a daemon."""
    from celery.utils.nodenames import default_nodename, node_format
    fake = bool(os.environ.get('C_FAKEFORK')) or fake
    # The logfile is touched before stdio closes, so it must be expanded here.
    logfile = node_format(logfile, hostname or default_nodename(None)) if logfile else logfile
    with detached(logfile, pidfile, uid, gid, umask, workdir, fake, after_forkers=False):
        path = executable or path
        try:
            os.execv(path, [path, *argv])
        except Exception:
            if app is None:
                from celery._state import get_current_app
                app = get_current_app()
            app.log.setup_logging_subsystem('ERROR', logfile, hostname=hostname)
            logger.critical("Can't exec %r", ' '.join([path, *argv]), exc_info=True)
            return EX_FAILURE
    return EX_OK


def _config_overrides(ctx: Context, command: click.Command) -> list[str]:
    """Validate extra ``key=value`` arguments; an unknown ``--option`` gets a clear error."""
    overrides = []
    option_names = [opt for param in command.params for opt in getattr(param, 'opts', ())]
    for arg in ctx.args:
        if '=' not in arg:
            if arg.startswith('-'):
                raise click.NoSuchOption(arg, possibilities=difflib.get_close_matches(arg, option_names),
                                         ctx=ctx)
            raise click.UsageError(
                f'Got unexpected extra argument {arg!r}: extra arguments must be '
                f'configuration overrides like worker_prefetch_multiplier=1.', ctx=ctx)
        overrides.append(arg.lstrip('-'))
    return overrides


@click.command(cls=CeleryDaemonCommand,
               context_settings={'allow_extra_args': True, 'ignore_unknown_options': True})
@click.option('-n', '--hostname', cls=CeleryOption, type=HOSTNAME, help_group='Worker Options',
              help="Set custom hostname (e.g., 'w1@%%h'). "
                   'Expands: %%h (hostname), %%n (name) and %%d, (domain).')
@click.option('-D', '--detach', cls=CeleryOption, is_flag=True, default=False,
              help_group='Worker Options', help='Start worker as a background process.')
@click.option('-S', '--statedb', cls=CeleryOption, type=click.Path(),
              callback=_conf_default('worker_state_db'), help_group='Worker Options',
              help="Path to the state database. The extension '.db' may be appended to the filename.")
@click.option('-l', '--loglevel', default='WARNING', cls=CeleryOption, type=LOG_LEVEL,
              help_group='Worker Options', help='Logging level.')
@click.option('-O', '--optimization', default='default', cls=CeleryOption,
              type=click.Choice(('default', 'fair')), help_group='Worker Options',
              help='Apply optimization profile.')
@click.option('--prefetch-multiplier', type=int, metavar='<prefetch multiplier>',
              callback=_conf_default('worker_prefetch_multiplier'), cls=CeleryOption,
              help_group='Worker Options',
              help='Set custom prefetch multiplier value for this worker instance.')
@click.option('--disable-prefetch', is_flag=True, default=None, cls=CeleryOption,
              callback=_conf_default('worker_disable_prefetch'), help_group='Worker Options',
              help='Only fetch a new task when a pool slot is free (Redis broker only).')
@click.option('-c', '--concurrency', type=CONCURRENCY, metavar='<concurrency>',
              callback=_conf_default('worker_concurrency', zero_is_unset=True), cls=CeleryOption,
              help_group='Pool Options',
              help='Number of child processes processing the queue. '
                   'The default is the number of CPUs available on your system.')
@click.option('-P', '--pool', 'pool_cls', type=WORKERS_POOL,
              cls=CeleryOption, help_group='Pool Options',
              help='Pool implementation (default: the worker_pool setting, prefork).')
@click.option('-E', '--task-events', '--events', is_flag=True, default=None, cls=CeleryOption,
              help_group='Pool Options',
              help='Send task-related events that can be captured by monitors '
                   'like celery events, celerymon, and others.')
@click.option('--time-limit', type=float, cls=CeleryOption, help_group='Pool Options',
              help='Enables a hard time limit (in seconds int/float) for tasks.')
@click.option('--soft-time-limit', type=float, cls=CeleryOption, help_group='Pool Options',
              help='Enables a soft time limit (in seconds int/float) for tasks.')
@click.option('--max-tasks-per-child', type=int, cls=CeleryOption, help_group='Pool Options',
              help='Maximum number of tasks a pool worker can execute before '
                   "it's terminated and replaced by a new worker.")
@click.option('--max-memory-per-child', type=int, cls=CeleryOption, help_group='Pool Options',
              help='Maximum amount of resident memory, in KiB, that may be consumed by a '
                   'child process before it will be replaced by a new one.')
@click.option('--purge', '--discard', is_flag=True, cls=CeleryOption, help_group='Queue Options',
              help='Purges all waiting tasks before the daemon is started.')
@click.option('--queues', '-Q', type=COMMA_SEPARATED_LIST, cls=CeleryOption,
              help_group='Queue Options', help='List of queues to enable for this worker, '
              'separated by comma. By default all configured queues are enabled.')
@click.option('--exclude-queues', '-X', type=COMMA_SEPARATED_LIST, cls=CeleryOption,
              help_group='Queue Options', help='List of queues to disable for this worker, '
              'separated by comma. By default all configured queues are enabled.')
@click.option('--include', '-I', type=COMMA_SEPARATED_LIST, cls=CeleryOption,
              help_group='Queue Options',
              help='Comma separated list of additional modules to import.')
@click.option('--without-gossip', is_flag=True, cls=CeleryOption, help_group='Features',
              help="Don't subscribe to other workers events.")
@click.option('--without-mingle', is_flag=True, cls=CeleryOption, help_group='Features',
              help="Don't synchronize with other workers at start-up.")
@click.option('--without-heartbeat', is_flag=True, cls=CeleryOption, help_group='Features',
              help="Don't send event heartbeats.")
@click.option('--heartbeat-interval', type=int, cls=CeleryOption, help_group='Features',
              help='Interval in seconds at which to send worker heartbeat.')
@click.option('--metrics-port', type=click.IntRange(min=0), cls=CeleryOption,
              help_group='Features',
              help='Serve Prometheus metrics on this port (worker_metrics_port).')
@click.option('--health-port', type=click.IntRange(min=0), cls=CeleryOption,
              help_group='Features',
              help='Serve /healthz and /readyz on this port (worker_health_port).')
@click.option('--autoscale', type=AUTOSCALE, cls=CeleryOption, help_group='Features',
              help='Enable autoscaling by providing max_concurrency, min_concurrency. '
                   'Example: --autoscale=10,3 (always keep 3 processes, '
                   'but grow to 10 if necessary).')
@click.option('-B', '--beat', type=CELERY_BEAT, cls=CeleryOption, is_flag=True,
              help_group='Embedded Beat Options',
              help='Also run the celery beat periodic task scheduler.')
@click.option('-s', '--schedule-filename', '--schedule',
              callback=_conf_default('beat_schedule_filename'), cls=CeleryOption,
              help_group='Embedded Beat Options',
              help='Path to the schedule database. Defaults to celerybeat-schedule.')
@click.option('--scheduler', cls=CeleryOption, help_group='Embedded Beat Options',
              help='Scheduler class to use.')
@click.pass_context
@handle_preload_options
def worker(ctx: Context, hostname: str | None = None, pool_cls: str | type | None = None,
           uid: int | str | None = None, gid: int | str | None = None, loglevel: int | None = None, logfile: str | None = None,
           pidfile: str | None = None, statedb: str | None = None, **kwargs: Any) -> int | None:
    """Start worker instance.

    \b
    For instance:
      celery -A proj worker -l INFO              log what every task does
      celery -A proj worker -Q images,video      consume from these queues only
      celery -A proj worker -c 8 -P threads      eight threads instead of processes
      celery -A proj worker --autoscale=10,2     keep 2 processes, grow to 10 when busy
      celery -A proj worker -B                   also schedule periodic tasks (one node only)
    """
    from celery.utils.nodenames import default_nodename, host_format, node_format
    app = ctx.obj.app
    overrides = _config_overrides(ctx, ctx.command)
    if overrides:
        try:
            app.config_from_cmdline(overrides, namespace='worker')
        except (KeyError, ValueError) as exc:
            raise click.UsageError(
                f'Unable to parse extra configuration from command line.\nReason: {exc}',
                ctx=ctx) from exc
    hostname = hostname or host_format(default_nodename(None))
    try:
        if kwargs.pop('detach', False):
            argv = ['-m', 'celery', *_strip_detach_args(sys.argv[1:])]
            return detach(sys.executable, argv, logfile=logfile, pidfile=pidfile, uid=uid, gid=gid,
                          umask=kwargs.get('umask'), workdir=None,
                          app=app, executable=kwargs.get('executable'), hostname=hostname)
        maybe_drop_privileges(uid=uid, gid=gid)
        from celery import concurrency
        pool = concurrency.get_implementation(pool_cls or app.conf.worker_pool)
        instance = app.Worker(
            hostname=hostname, pool_cls=pool, loglevel=loglevel,
            logfile=logfile,  # %n/%i/%I are expanded by the logging setup, per process.
            pidfile=node_format(pidfile, hostname) if pidfile else None,
            statedb=node_format(statedb, hostname) if statedb else None,
            no_color=ctx.obj.no_color, quiet=ctx.obj.quiet, **kwargs)
        try:
            instance.start()
        except WorkerTerminate as exc:
            # A cold shutdown requested while a warm one was waiting for tasks.
            instance.terminate()
            instance.exitcode = exc.code
        ctx.exit(instance.exitcode or EX_OK)
    except SecurityError as exc:
        ctx.obj.error(exc.args[0])
        ctx.exit(EX_FAILURE)
    except ImproperlyConfigured as exc:
        # A setting the worker can't start with (e.g. a probe port in use): no traceback.
        ctx.obj.error(f'Error: {exc}')
        ctx.exit(EX_FAILURE)
    return None

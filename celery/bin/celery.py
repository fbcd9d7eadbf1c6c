"""The ``celery`` umbrella command: global options, app loading and the sub-command table."""
from __future__ import annotations

import importlib
import os
import pathlib
import sys
import traceback
from typing import TYPE_CHECKING, Any

import click
from click_didyoumean import DYMGroup

from celery import VERSION_BANNER
from celery.bin.base import APP_AFTER_SUBCOMMAND, CeleryCommand, CeleryOption, CLIContext
from celery.bin.base import consume_preload_options  # noqa: F401 - reachable here, as in Celery

__all__ = ('celery', 'main', 'report', 'load_app', 'SUBCOMMANDS')

# Celery's user-visible text, kept verbatim
UNABLE_TO_LOAD_APP_MODULE_NOT_FOUND = click.style("""
Unable to load celery application.
The module {0} was not found.""")

# Celery's user-visible text, kept verbatim
UNABLE_TO_LOAD_APP_ERROR_OCCURRED = click.style("""
Unable to load celery application.
While trying to load the module {0} the following error occurred:
{1}""")

# Celery's user-visible text, kept verbatim
UNABLE_TO_LOAD_APP_APP_MISSING = click.style("""
Unable to load celery application.
{0}""")

#: Why ``-A``/``--app`` given after a sub-command is refused
#: (keys ``option``, ``command`` and ``value``).
WRONG_APP_OPTION_USAGE_MESSAGE = APP_AFTER_SUBCOMMAND

#: Sub-command name -> ``module:attribute``, imported only when used or listed.
SUBCOMMANDS: dict[str, str] = {
    'worker': 'celery.bin.worker:worker',
    'beat': 'celery.bin.beat:beat',
    'events': 'celery.bin.events:events',
    'inspect': 'celery.bin.control:inspect',
    'control': 'celery.bin.control:control',
    'status': 'celery.bin.control:status',
    'call': 'celery.bin.call:call',
    'result': 'celery.bin.result:result',
    'purge': 'celery.bin.purge:purge',
    'dlq': 'celery.bin.dlq:dlq',
    'shell': 'celery.bin.shell:shell',
    'list': 'celery.bin.list:list_',
    'upgrade': 'celery.bin.upgrade:upgrade',
    'migrate': 'celery.bin.migrate:migrate',
    'graph': 'celery.bin.graph:graph',
    'logtool': 'celery.bin.logtool:logtool',
    'amqp': 'celery.bin.amqp:amqp',
    'multi': 'celery.bin.multi:multi',
    'report': 'celery.bin.celery:report',
}

#: User option groups appended to the sub-command of the same name.
USER_OPTION_GROUPS = ('worker', 'beat', 'events')

if TYPE_CHECKING:
    from celery.app.base import Celery


def load_app(value: str | Celery) -> Celery:
    """Return the app named by ``-A`` (module, ``module:attr`` or package); a Celery app passes through."""
    if not isinstance(value, str):
        return value
    from celery.app.utils import find_app
    try:
        app: Celery = find_app(value)
        return app
    except ModuleNotFoundError as exc:
        module = value.partition(':')[0]
        if exc.name and (module == exc.name or module.startswith(exc.name + '.')):
            raise click.BadParameter(UNABLE_TO_LOAD_APP_MODULE_NOT_FOUND.format(exc.name),
                                     param_hint="'-A' / '--app'") from None
        raise click.BadParameter(UNABLE_TO_LOAD_APP_ERROR_OCCURRED.format(value, traceback.format_exc()),
                                 param_hint="'-A' / '--app'") from exc
    except AttributeError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        raise click.BadParameter(UNABLE_TO_LOAD_APP_APP_MISSING.format(message[:1].upper() + message[1:]),
                                 param_hint="'-A' / '--app'") from exc
    except click.ClickException:
        raise
    except Exception as exc:
        raise click.BadParameter(UNABLE_TO_LOAD_APP_ERROR_OCCURRED.format(value, traceback.format_exc()),
                                 param_hint="'-A' / '--app'") from exc


class AppParam(click.ParamType):
    """The ``-A`` value: kept as given and loaded once the environment is prepared."""

    name = 'application'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> object:
        """Keep the value as given: the app is loaded later."""
        return value


class LazyCommandGroup(DYMGroup):
    """A group whose built-in sub-commands are imported on first use.

    Keeps ``celery --help`` and every single command cheap, and a command
    whose module is absent simply isn't offered instead of breaking the CLI.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self._plugin_entry_points: dict[str, Any] | None = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Names of every sub-command that can be loaded (built-in and plug-in)."""
        available = [name for name in self.lazy_commands if self._load(name) is not None]
        return sorted(set(available) | set(self.commands) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The sub-command ``cmd_name``, imported on first use."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        return self._load(cmd_name) or self._load_plugin(cmd_name)

    def _plugins(self) -> dict[str, Any]:
        # Scanning installed packages' entry points is slow: only done when a
        # name is not a built-in command, or when every command is listed.
        if self._plugin_entry_points is None:
            from importlib.metadata import entry_points
            self._plugin_entry_points = {
                ep.name: ep for ep in entry_points(group='celery.commands')}
        return self._plugin_entry_points

    def _load_plugin(self, name: str) -> click.Command | None:
        entry_point = self._plugins().get(name)
        if entry_point is None:
            return None
        try:
            command = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break the CLI
            command = _broken_plugin(name, entry_point.value, exc)
        self.commands[name] = command
        return command

    def _load(self, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        target = self.lazy_commands.get(name)
        if target is None:
            return None
        module_name, _, attr = target.partition(':')
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return None  # that command isn't part of this installation.
            raise
        command = getattr(module, attr)
        self.commands[name] = command
        return command


def _broken_plugin(name: str, target: str, exc: Exception) -> click.Command:
    """A stand-in for a plug-in command that failed to load: says why when run."""
    def run() -> None:
        raise click.ClickException(
            f'The plug-in command {name!r} ({target}) could not be loaded: {exc!r}')
    return click.Command(name, callback=run, help=f'(broken plug-in: {exc!r})')


def _export_env(name: str, value: str | None) -> None:
    if value:
        os.environ[name] = value


def _append_params(ctx: click.Context, command: click.Command, params: Any) -> None:
    """Offer ``params`` on ``command`` for this invocation only (commands are shared objects)."""
    added = [param for param in params or () if param not in command.params]
    command.params.extend(added)

    def remove() -> None:
        for param in added:
            if param in command.params:
                command.params.remove(param)
    ctx.call_on_close(remove)


@click.group(cls=LazyCommandGroup, lazy_commands=SUBCOMMANDS, invoke_without_command=True)
@click.option('-A', '--app', envvar='APP', cls=CeleryOption, type=AppParam(),
              help_group='Global Options',
              help='The application: a module, package or module:attribute.')
@click.option('-b', '--broker', envvar='BROKER_URL', cls=CeleryOption, help_group='Global Options',
              help='Broker URL (overrides broker_url).')
@click.option('--result-backend', envvar='RESULT_BACKEND', cls=CeleryOption,
              help_group='Global Options', help='Result backend URL (overrides result_backend).')
@click.option('--loader', envvar='LOADER', cls=CeleryOption, help_group='Global Options',
              help='Loader class to use.')
@click.option('--config', envvar='CONFIG_MODULE', cls=CeleryOption, help_group='Global Options',
              help='Name of the configuration module.')
@click.option('--workdir', cls=CeleryOption, type=pathlib.Path, is_eager=True,
              callback=lambda _ctx, _param, wd: os.chdir(wd) if wd else None,
              help_group='Global Options', help='Change to this directory before anything else.')
@click.option('-C', '--no-color', envvar='NO_COLOR', is_flag=True, cls=CeleryOption,
              help_group='Global Options', help='Disable colours in output.')
@click.option('-q', '--quiet', is_flag=True, cls=CeleryOption, help_group='Global Options',
              help='Less verbose output.')
@click.option('--version', cls=CeleryOption, is_flag=True, help_group='Global Options',
              help='Print the version and exit.')
@click.option('--skip-checks', envvar='SKIP_CHECKS', cls=CeleryOption, is_flag=True,
              help_group='Global Options',
              help='Skip Django core checks on startup. Setting the SKIP_CHECKS environment '
                   'variable to any non-empty string has the same effect.')
@click.pass_context
def celery(ctx: click.Context, app: str | Celery | None, broker: str | None, result_backend: str | None,
           loader: str | None, config: str | None, workdir: pathlib.Path | None,
           no_color: bool, quiet: bool, version: bool, skip_checks: bool) -> None:
    """Celery command entrypoint."""
    if version:
        click.echo(VERSION_BANNER)
        ctx.exit()
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit()
    # Exported before the app is imported so its configuration sees them.
    _export_env('CELERY_LOADER', loader)
    _export_env('CELERY_BROKER_URL', broker)
    _export_env('CELERY_RESULT_BACKEND', result_backend)
    _export_env('CELERY_CONFIG_MODULE', config)
    if skip_checks:
        os.environ['CELERY_SKIP_CHECKS'] = 'true'
    if app is None:
        from celery._state import get_current_app
        app = get_current_app()
    else:
        app = load_app(app)
    ctx.obj = CLIContext(app=app, no_color=no_color, workdir=workdir, quiet=quiet)

    command = ctx.command.get_command(ctx, ctx.invoked_subcommand)
    if command is not None:
        if ctx.invoked_subcommand in USER_OPTION_GROUPS:
            _append_params(ctx, command, app.user_options.get(ctx.invoked_subcommand))
        _append_params(ctx, command, app.user_options.get('preload'))


@click.command(cls=CeleryCommand)
@click.pass_context
def report(ctx: click.Context, **kwargs: Any) -> None:
    """Show information useful to include in bug-reports."""
    app = ctx.obj.app
    app.loader.import_default_modules()
    ctx.obj.echo(app.bugreport())


def __getattr__(name: str) -> click.Command:
    """The built-in sub-commands as module attributes (``celery.bin.celery.worker``), imported on use."""
    # Importing them all up front would make ``celery --help`` and every single command slow.
    target = SUBCOMMANDS.get(name)
    if target is None or name == 'report':
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    module_name, _, attr = target.partition(':')
    return getattr(importlib.import_module(module_name), attr)


def main() -> int:
    """Run the ``celery`` command line; exits the process with the command's exit code."""
    return celery(auto_envvar_prefix='CELERY')


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())

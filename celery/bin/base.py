"""Building blocks shared by every ``celery`` sub-command: context, options, parameter types."""
from __future__ import annotations

import json
import numbers
from collections.abc import Callable
from datetime import datetime
from functools import cached_property, update_wrapper
from pprint import pformat
from typing import TYPE_CHECKING, Any

import click
from click import Context, ParamType

from celery.platforms import EX_UNAVAILABLE
from celery.signals import user_preload_options
from celery.utils.log import mlevel

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = (
    'CLIContext', 'CeleryOption', 'CeleryCommand', 'CeleryDaemonCommand', 'DaemonOption',
    'CommaSeparatedList', 'ISO8601DateTime', 'ISO8601DateTimeOrFloat',
    'JsonArray', 'JsonObject', 'LogLevel', 'handle_preload_options', 'consume_preload_options',
    'handle_remote_command_error', 'EX_UNAVAILABLE', 'user_preload_options',
    'COMMA_SEPARATED_LIST', 'ISO8601', 'ISO8601_OR_FLOAT', 'JSON_ARRAY', 'JSON_OBJECT', 'LOG_LEVEL',
)

APP_AFTER_SUBCOMMAND = """\
You are using `{option}` as an option of the {command} sub-command:
    celery {command} {option} {value} <...>

Since Celery 5.0 the application is a global option, given before the sub-command:
    celery {option} {value} {command} <...>
"""


class CLIContext:
    """The object shared by all sub-commands as ``ctx.obj``: the app and output helpers."""

    def __init__(self, app: Celery, no_color: bool, workdir: str | None,
                 quiet: bool = False) -> None:
        self.app = app
        self.no_color = no_color
        self.quiet = quiet
        self.workdir = workdir

    @cached_property
    def OK(self) -> str:
        """A styled ``OK``."""
        return self.style('OK', fg='green', bold=True)

    @cached_property
    def ERROR(self) -> str:
        """A styled ``ERROR``."""
        return self.style('ERROR', fg='red', bold=True)

    def style(self, message: str | None = None, **kwargs: Any) -> str:
        """Return ``message`` styled with click, or unstyled with ``--no-color``."""
        if self.no_color:
            return message or ''
        return click.style(message, **kwargs)

    def secho(self, message: object = None, **kwargs: Any) -> None:
        """Echo a styled message (styles dropped with ``--no-color``)."""
        if self.no_color:
            kwargs = {k: v for k, v in kwargs.items() if k in ('file', 'nl', 'err')}
            click.echo(message, color=False, **kwargs)
        else:
            click.secho(message, **kwargs)

    def echo(self, message: object = None, **kwargs: Any) -> None:
        """Echo a message to stdout."""
        if self.no_color:
            kwargs['color'] = False
        click.echo(message, **kwargs)

    def error(self, message: object = None, **kwargs: Any) -> None:
        """Echo a message to stderr."""
        self.secho(message, err=True, **kwargs)

    def pretty(self, n: object) -> tuple[str, str]:
        """Return ``(status, text)`` rendering a reply for humans."""
        if isinstance(n, list):
            return self.OK, self.pretty_list(n)
        if isinstance(n, dict):
            if 'ok' in n or 'error' in n:
                return self.pretty_dict_ok_error(n)
            return self.OK, json.dumps(n, sort_keys=True, indent=4, default=str)
        if isinstance(n, str):
            return self.OK, n
        return self.OK, pformat(n)

    def pretty_list(self, n: list[Any]) -> str:
        """Render a list as bullet lines."""
        if not n:
            return '- empty -'
        bullet = self.style('*', fg='white')
        return '\n'.join(f'{bullet} {item}' for item in n)

    def pretty_dict_ok_error(self, n: dict[str, Any]) -> tuple[str, str]:
        """Render an ``{'ok': ...}`` or ``{'error': ...}`` reply."""
        if 'ok' in n:
            return self.OK, _indent(self.pretty(n['ok'])[1], 4)
        return self.ERROR, _indent(self.pretty(n['error'])[1], 4)

    def say_chat(self, direction: str, title: str, body: str = '', show_body: bool = False) -> None:
        """Print one side of a request/reply exchange (``->`` sent, ``<-`` received)."""
        if direction == '<-' and self.quiet:
            return
        dirstr = f'{self.style(direction, fg="white", bold=True)} ' if not self.quiet else ''
        self.echo(f'{dirstr} {title}')
        if body and show_body:
            self.echo(body)


def _indent(text: str, width: int) -> str:
    pad = ' ' * width
    return '\n'.join(pad + line for line in text.splitlines())


def _preload_option_names(app: Any) -> list[str]:
    return [opt.name for opt in app.user_options.get('preload', ())]


def consume_preload_options(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command so the app's ``preload`` option values are taken out of its keyword arguments."""
    def caller(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        for name in _preload_option_names(ctx.obj.app):
            kwargs.pop(name, None)
        return fun(ctx, *args, **kwargs)
    return update_wrapper(caller, fun)


def handle_preload_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command so the app's ``preload`` user options are sent with ``user_preload_options``."""
    def caller(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        app = ctx.obj.app
        names = _preload_option_names(app)
        if names:
            options = {name: kwargs.pop(name) for name in names if name in kwargs}
            user_preload_options.send(sender=f, app=app, options=options)
        return f(ctx, *args, **kwargs)
    return update_wrapper(caller, f)


def handle_remote_command_error(command: str, exc: Exception) -> None:
    """Report a remote-control command that could not be sent and exit with ``EX_UNAVAILABLE``."""
    click.secho(f'Error: the remote command {command!r} could not be sent: {exc}\n'
                'Check the broker URL (-b/--broker or broker_url) and that the broker is running.',
                fg='red', err=True)
    raise click.exceptions.Exit(EX_UNAVAILABLE)


class CeleryOption(click.Option):
    """An option that belongs to a named help group and may take its default from ``ctx.obj``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.help_group = kwargs.pop('help_group', None)
        self.default_value_from_context = kwargs.pop('default_value_from_context', None)
        super().__init__(*args, **kwargs)

    def get_default(self, ctx: Context, *args: Any, **kwargs: Any) -> object:
        """The default, read from the context object when configured so."""
        if self.default_value_from_context and ctx.obj is not None:
            self.default = getattr(ctx.obj, self.default_value_from_context)
        return super().get_default(ctx, *args, **kwargs)


def _reject_app_after_subcommand(command: click.Command, args: list[str]) -> None:
    for i, arg in enumerate(args):
        if arg == '--':
            return
        if arg in ('-A', '--app'):
            option, value = arg, (args[i + 1] if i + 1 < len(args) else '<app>')
        elif arg.startswith('--app='):
            option, value = '--app', arg[len('--app='):]
        elif arg.startswith('-A'):
            option, value = '-A', arg[2:]
        else:
            continue
        raise click.UsageError(APP_AFTER_SUBCOMMAND.format(
            option=option, command=command.name, value=value))


class CeleryCommand(click.Command):
    """A command whose help lists options by group, refusing ``-A`` after the sub-command."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Parse ``args``, refusing ``-A``/``--app`` after the sub-command."""
        _reject_app_after_subcommand(self, args)
        return super().parse_args(ctx, args)

    def format_options(self, ctx: Context, formatter: click.HelpFormatter) -> None:
        """Write the options help, one section per help group."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                group = getattr(param, 'help_group', None) or 'Options'
                groups.setdefault(str(group), []).append(record)
        for name, records in groups.items():
            with formatter.section(name):
                formatter.write_dl(records)


class DaemonOption(CeleryOption):
    """A daemonization option that falls back to the ``<command>_<name>`` setting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(args,
                         help_group=kwargs.pop('help_group', 'Daemonization Options'),
                         callback=kwargs.pop('callback', self.daemon_setting),
                         **kwargs)

    def daemon_setting(self, ctx: Context, opt: click.Parameter, value: object) -> object:
        """Return ``value``, else the app setting named after the command (``worker_pidfile``)."""
        if value or ctx.obj is None:
            return value
        return ctx.obj.app.conf.get(f'{ctx.command.name}_{self.name}')


class CeleryDaemonCommand(CeleryCommand):
    """A command for a long-running program: adds the shared daemonization options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend((
            DaemonOption('--logfile', '-f', help='Log destination; defaults to stderr'),
            DaemonOption('--pidfile', help='PID file path; defaults to no PID file'),
            DaemonOption('--uid', help='Drops privileges to this user ID'),
            DaemonOption('--gid', help='Drops privileges to this group ID'),
            DaemonOption('--umask', help='Create files and directories with this umask'),
            DaemonOption('--executable', help='Override path to the Python executable'),
        ))


class CommaSeparatedList(ParamType):
    """``a,b, c`` → ``['a', 'b', 'c']``."""

    name = 'comma separated list'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> list[str]:
        """Split ``a,b,c`` into a list."""
        if isinstance(value, (list, tuple)):
            return list(value)
        return [item.strip() for item in str(value).split(',') if item.strip()]


class JsonArray(ParamType):
    """A JSON array given on the command line."""

    name = 'json array'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> list[Any]:
        """Parse a JSON array."""
        if isinstance(value, list):
            return value
        try:
            parsed = json.loads(_json_text(value))
        except ValueError as exc:
            self.fail(f'{value!r} is not valid JSON: {exc}', param, ctx)
        if not isinstance(parsed, list):
            self.fail(f'{value} was not an array', param, ctx)
        return parsed


class JsonObject(ParamType):
    """A JSON object given on the command line."""

    name = 'json object'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> dict[str, Any]:
        """Parse a JSON object."""
        if isinstance(value, dict):
            return value
        try:
            parsed = json.loads(_json_text(value))
        except ValueError as exc:
            self.fail(f'{value!r} is not valid JSON: {exc}', param, ctx)
        if not isinstance(parsed, dict):
            self.fail(f'{value} was not an object', param, ctx)
        return parsed


def _json_text(value: object) -> str | bytes:
    if isinstance(value, (str, bytes)):
        return value
    raise ValueError(f'expected text, got {type(value).__name__}')


def _parse_iso8601(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f'expected text, got {type(value).__name__}')
    return datetime.fromisoformat(value.replace('Z', '+00:00'))


class ISO8601DateTime(ParamType):
    """An ISO-8601 date and time."""

    name = 'iso-86091'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> datetime:
        """Parse an ISO 8601 date/time."""
        try:
            return _parse_iso8601(value)
        except (TypeError, ValueError) as exc:
            self.fail(f'{value!r} is not an ISO-8601 date and time: {exc}', param, ctx)


class ISO8601DateTimeOrFloat(ParamType):
    """An ISO-8601 date and time, or a number of seconds."""

    name = 'iso-86091 or float'

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> datetime | float:
        """Parse an ISO 8601 date/time, or a number of seconds."""
        if isinstance(value, (str, int, float)):
            try:
                return float(value)
            except ValueError:
                pass
        try:
            return _parse_iso8601(value)
        except (TypeError, ValueError) as exc:
            self.fail(f'{value!r} is neither a number nor an ISO-8601 date and time: {exc}',
                      param, ctx)


class LogLevel(click.Choice):
    """A log level name (any case) converted to its number."""

    def __init__(self) -> None:
        super().__init__(('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'))

    def convert(self, value: object, param: click.Parameter | None,
                ctx: Context | None) -> int:
        """Turn a level name or number into a logging level number."""
        if isinstance(value, numbers.Integral):
            return int(value)
        level: int = mlevel(super().convert(str(value).upper(), param, ctx))
        return level


COMMA_SEPARATED_LIST = CommaSeparatedList()
ISO8601 = ISO8601DateTime()
ISO8601_OR_FLOAT = ISO8601DateTimeOrFloat()
JSON_ARRAY = JsonArray()
JSON_OBJECT = JsonObject()
LOG_LEVEL = LogLevel()

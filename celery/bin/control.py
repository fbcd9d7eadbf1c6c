"""``celery inspect``, ``celery control`` and ``celery status``."""
from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import click

from celery.bin.base import (
    COMMA_SEPARATED_LIST,
    CeleryCommand,
    CeleryOption,
    handle_preload_options,
)
from celery.platforms import EX_UNAVAILABLE
from celery.utils import text

__all__ = ('inspect', 'control', 'status')

NO_REPLY = 'Error: No nodes replied within time constraint'


def _say_remote_command_reply(ctx: click.Context, replies: dict[str, Any],
                              show_reply: bool = False) -> None:
    node = next(iter(replies))
    reply = replies[node]
    name = ctx.obj.style(f'{node}: ', fg='cyan', bold=True)
    status_text, body = ctx.obj.pretty(reply)
    ctx.obj.say_chat('->', f'{name}{status_text}',
                     text.indent(body, 4) if show_reply else '', show_body=show_reply)


def _commands(type_: str) -> dict[str, Any]:
    from celery.worker.control import Panel
    return {name: meta for name, meta in Panel.meta.items()
            if meta.type == type_ and meta.visible}


def _check_command(type_: str, action: str | None) -> Any:
    commands = _commands(type_)
    if action not in commands:
        valid = ', '.join(sorted(commands))
        raise click.UsageError(
            f'Unknown {type_} command {action!r}. Valid commands: {valid}. '
            f'See "celery {type_} --list".')
    return commands[action]


def _consume_arguments(meta: Any, method: str, args: list[str]) -> Iterator[tuple[str, Any]]:
    """Map positional CLI words onto the command's ``args``; leave the rest in ``args``."""
    declared = meta.args or []
    used = 0
    for used, word in enumerate(args, 1):
        if used > len(declared):
            if meta.variadic:
                used -= 1
                break
            raise click.UsageError(
                f'Command {method!r} takes arguments: {meta.signature or "(none)"}')
        name, convert = declared[used - 1]
        try:
            yield name, convert(word) if convert is not None else word
        except (TypeError, ValueError) as exc:
            raise click.UsageError(
                f'Bad value {word!r} for argument {name!r} of {method!r}: {exc}') from exc
    del args[:used]


def _compile_arguments(meta: Any, command: str, args: list[str]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    args = list(args)
    if meta.args:
        arguments.update(_consume_arguments(meta, command, args))
    if meta.variadic:
        arguments[meta.variadic] = args
    elif args:
        raise click.UsageError(
            f'Command {command!r} takes arguments: {meta.signature or "(none)"}')
    return arguments


def _list_commands(ctx: click.Context, type_: str) -> None:
    for name, meta in sorted(_commands(type_).items()):
        ctx.obj.echo(f'{"|" + name + " " + (meta.signature or ""):<40} {meta.help}')


def _ask(ctx: click.Context, request: Any) -> Any:
    """Run ``request()``; a broker that can't be reached is a clear error, exit 69."""
    from kombu.exceptions import OperationalError
    conninfo = ctx.obj.app.connection_for_write()
    try:
        return request()
    except conninfo.connection_errors + (OperationalError, OSError) as exc:
        ctx.obj.error(f'Error: Cannot connect to the broker at {conninfo.as_uri()}: {exc}\n'
                      'Check the broker URL (-b/--broker or broker_url) and that the '
                      'broker is running.')
        ctx.exit(EX_UNAVAILABLE)


def _finish(ctx: click.Context, replies: Any, as_json: bool) -> None:
    if not replies:
        if as_json:
            # Scripts parsing stdout still get one JSON document: no nodes.
            ctx.obj.echo('[]' if isinstance(replies, list) else '{}')
        ctx.obj.error(NO_REPLY)
        ctx.exit(EX_UNAVAILABLE)
    if as_json:
        from kombu.utils.json import dumps
        ctx.obj.echo(dumps(replies))
        return
    count = len(replies)
    if not ctx.obj.quiet:
        ctx.obj.echo(f'\n{count} {text.pluralize(count, "node")} online.')


def _remote_options(f: Any) -> Any:
    for option in reversed((
        click.option('-t', '--timeout', cls=CeleryOption, type=float, default=1.0,
                     help_group='Remote Control Options',
                     help='Timeout in seconds waiting for reply.'),
        click.option('-d', '--destination', cls=CeleryOption, type=COMMA_SEPARATED_LIST,
                     help_group='Remote Control Options',
                     help='Comma separated list of destination node names.'),
        click.option('-j', '--json', cls=CeleryOption, is_flag=True, default=False,
                     help_group='Remote Control Options',
                     help='Use json as output format.'),
    )):
        f = option(f)
    return f


def _action_command(f: Any) -> Any:
    """Decorators shared by ``inspect`` and ``control``: ACTION, the remote options, ``--list``."""
    for decorator in reversed((
        click.command(cls=CeleryCommand, context_settings={'allow_extra_args': True}),
        click.argument('action', required=False),
        _remote_options,
        click.option('--list', 'list_', cls=CeleryOption, is_flag=True,
                     help_group='Remote Control Options', help='List available commands.'),
        click.pass_context,
        handle_preload_options,
    )):
        f = decorator(f)
    return f


@click.command(cls=CeleryCommand)
@_remote_options
@click.pass_context
@handle_preload_options
def status(ctx: click.Context, timeout: float, destination: list[str] | None,
           json: bool, **kwargs: Any) -> None:
    """Show list of workers that are online."""
    callback = None if json else partial(_say_remote_command_reply, ctx)
    inspector = ctx.obj.app.control.inspect(timeout=timeout, destination=destination,
                                            callback=callback)
    replies = _ask(ctx, inspector.ping)
    _finish(ctx, replies, json)


@_action_command
def inspect(ctx: click.Context, action: str | None, timeout: float,
            destination: list[str] | None, json: bool, list_: bool, **kwargs: Any) -> None:
    """Inspect the worker at runtime.

    Availability: RabbitMQ (AMQP) and Redis transports.
    """
    if list_ or action is None:
        return _list_commands(ctx, 'inspect')
    meta = _check_command('inspect', action)
    arguments = _compile_arguments(meta, action, ctx.args)
    if action == 'revoked':
        # Where each revoke came from (revokes_backend or live), as the reply.
        arguments.setdefault('sources', True)
    callback = None if json else partial(_say_remote_command_reply, ctx, show_reply=True)
    inspector = ctx.obj.app.control.inspect(timeout=timeout, destination=destination,
                                            callback=callback)
    _finish(ctx, _ask(ctx, partial(inspector._request, action, **arguments)), json)


@_action_command
def control(ctx: click.Context, action: str | None, timeout: float,
            destination: list[str] | None, json: bool, list_: bool, **kwargs: Any) -> None:
    """Workers remote control.

    Availability: RabbitMQ (AMQP), Redis, and MongoDB transports.
    """
    if list_ or action is None:
        return _list_commands(ctx, 'control')
    meta = _check_command('control', action)
    arguments = _compile_arguments(meta, action, ctx.args)
    callback = None if json else partial(_say_remote_command_reply, ctx, show_reply=True)
    replies = _ask(ctx, partial(
        ctx.obj.app.control.broadcast, action, timeout=timeout, destination=destination,
        callback=callback, reply=True, arguments=arguments))
    _finish(ctx, replies, json)

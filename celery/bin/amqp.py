"""``celery amqp``: an AMQP 0.9.1 shell for declaring, binding, publishing and getting by hand."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from celery.bin.base import CeleryCommand, CLIContext, handle_preload_options

if TYPE_CHECKING:
    from amqp import Message as AMQPMessage

    from celery.app.base import Celery

__all__ = ('amqp', 'AMQPContext', 'dump_message')


def dump_message(message: AMQPMessage | None) -> dict[str, Any] | None:
    """Return a fetched message as ``{'body', 'properties', 'delivery_info'}``; ``None`` stays ``None``."""
    if message is None:
        return None
    return {'body': message.body, 'properties': message.properties,
            'delivery_info': message.delivery_info}


class AMQPContext:
    """Holds the broker connection and channel shared by the shell's commands."""

    def __init__(self, cli_context: CLIContext) -> None:
        self.cli_context = cli_context
        self.connection = cli_context.app.connection()
        self.channel: Any = None
        self.reconnect()

    @property
    def app(self) -> Celery:
        """The app of the CLI context."""
        return self.cli_context.app

    def respond(self, retval: object) -> None:
        """Print a command's result."""
        if isinstance(retval, str):
            self.cli_context.echo(retval)
        else:
            self.cli_context.echo(self.cli_context.pretty(retval)[1])

    def echo_error(self, exception: BaseException) -> None:
        """Print ``exception`` as an error."""
        self.cli_context.error(f'{self.cli_context.ERROR}: {exception}')

    def echo_ok(self) -> None:
        """Print ``OK``."""
        self.cli_context.echo(self.cli_context.OK)

    def reconnect(self) -> None:
        """(Re)open the connection and a channel, reporting where we're connected."""
        if self.connection:
            self.connection.close()
        else:
            self.connection = self.app.connection()
        self.cli_context.echo(f'-> connecting to {self.connection.as_uri()}.')
        try:
            self.connection.connect()
        except (ConnectionRefusedError, ConnectionResetError) as exc:
            self.echo_error(exc)
        else:
            self.cli_context.secho('-> connected.', fg='green', bold=True)
            self.channel = self.connection.default_channel


def _run(ctx: click.Context, method: str, *args: Any, ok: bool = True) -> Any:
    amqp_context: AMQPContext = ctx.obj
    if amqp_context.channel is None:
        amqp_context.echo_error(ConnectionError('Not connected to broker. Please retry...'))
        amqp_context.reconnect()
        return None
    try:
        retval = getattr(amqp_context.channel, method)(*args)
    except Exception as exc:  # the broker's reply is shown, the channel reopened.
        amqp_context.echo_error(exc)
        amqp_context.reconnect()
        return None
    if ok:
        amqp_context.echo_ok()
    return retval


@click.group(invoke_without_command=True)
@click.pass_context
@handle_preload_options
def amqp(ctx: click.Context) -> None:
    """AMQP Administration Shell.

    Also works for non-AMQP transports (but not ones that store declarations in memory).
    """
    if not isinstance(ctx.obj, AMQPContext):
        ctx.obj = AMQPContext(ctx.obj)
    if ctx.invoked_subcommand is None:
        ctx.invoke(repl)


@amqp.command(name='exchange.declare', cls=CeleryCommand)
@click.argument('exchange', type=str)
@click.argument('type', type=str)
@click.argument('passive', type=bool, default=False)
@click.argument('durable', type=bool, default=False)
@click.argument('auto_delete', type=bool, default=False)
@click.pass_context
def exchange_declare(ctx: click.Context, exchange: str, type: str, passive: bool, durable: bool,
                     auto_delete: bool) -> None:
    """Declare an exchange."""
    _run(ctx, 'exchange_declare', exchange, type, passive, durable, auto_delete)


@amqp.command(name='exchange.delete', cls=CeleryCommand)
@click.argument('exchange', type=str)
@click.argument('if_unused', type=bool, default=False)
@click.pass_context
def exchange_delete(ctx: click.Context, exchange: str, if_unused: bool) -> None:
    """Delete an exchange."""
    _run(ctx, 'exchange_delete', exchange, if_unused)


@amqp.command(name='queue.bind', cls=CeleryCommand)
@click.argument('queue', type=str)
@click.argument('exchange', type=str)
@click.argument('routing_key', type=str)
@click.pass_context
def queue_bind(ctx: click.Context, queue: str, exchange: str, routing_key: str) -> None:
    """Bind a queue to an exchange."""
    _run(ctx, 'queue_bind', queue, exchange, routing_key)


@amqp.command(name='queue.declare', cls=CeleryCommand)
@click.argument('queue', type=str)
@click.argument('passive', type=bool, default=False)
@click.argument('durable', type=bool, default=False)
@click.argument('auto_delete', type=bool, default=False)
@click.pass_context
def queue_declare(ctx: click.Context, queue: str, passive: bool, durable: bool,
                  auto_delete: bool) -> None:
    """Declare a queue and report its message and consumer counts."""
    retval = _run(ctx, 'queue_declare', queue, passive, durable, auto_delete, ok=False)
    if retval is not None:
        name, messages, consumers = retval
        ctx.obj.cli_context.secho(
            f'queue:{name} messages:{messages} consumers:{consumers}', fg='cyan', bold=True)
        ctx.obj.echo_ok()


@amqp.command(name='queue.delete', cls=CeleryCommand)
@click.argument('queue', type=str)
@click.argument('if_unused', type=bool, default=False)
@click.argument('if_empty', type=bool, default=False)
@click.pass_context
def queue_delete(ctx: click.Context, queue: str, if_unused: bool, if_empty: bool) -> None:
    """Delete a queue and report how many messages it held."""
    retval = _run(ctx, 'queue_delete', queue, if_unused, if_empty, ok=False)
    if retval is not None:
        ctx.obj.cli_context.secho(f'{retval} messages deleted.', fg='cyan', bold=True)
        ctx.obj.echo_ok()


@amqp.command(name='queue.purge', cls=CeleryCommand)
@click.argument('queue', type=str)
@click.pass_context
def queue_purge(ctx: click.Context, queue: str) -> None:
    """Delete every message in a queue."""
    retval = _run(ctx, 'queue_purge', queue, ok=False)
    if retval is not None:
        ctx.obj.cli_context.secho(f'{retval} messages deleted.', fg='cyan', bold=True)
        ctx.obj.echo_ok()


@amqp.command(name='basic.get', cls=CeleryCommand)
@click.argument('queue', type=str)
@click.argument('no_ack', type=bool, default=False)
@click.pass_context
def basic_get(ctx: click.Context, queue: str, no_ack: bool) -> None:
    """Fetch one message from a queue."""
    message = _run(ctx, 'basic_get', queue, no_ack, ok=False)
    if message is None:
        ctx.obj.echo_ok()
        return
    ctx.obj.respond(dump_message(message))
    ctx.obj.echo_ok()


@amqp.command(name='basic.ack', cls=CeleryCommand)
@click.argument('delivery_tag', type=int)
@click.pass_context
def basic_ack(ctx: click.Context, delivery_tag: int) -> None:
    """Acknowledge a message fetched with basic.get."""
    _run(ctx, 'basic_ack', delivery_tag)


@amqp.command(name='basic.publish', cls=CeleryCommand)
@click.argument('msg', type=str)
@click.argument('exchange', type=str)
@click.argument('routing_key', type=str)
@click.argument('mandatory', type=bool, default=False)
@click.argument('immediate', type=bool, default=False)
@click.pass_context
def basic_publish(ctx: click.Context, msg: str, exchange: str, routing_key: str,
                  mandatory: bool, immediate: bool) -> None:
    """Publish a text message."""
    channel = ctx.obj.channel
    if channel is None:
        ctx.obj.echo_error(ConnectionError('Not connected to broker. Please retry...'))
        ctx.obj.reconnect()
        return
    message = channel.prepare_message(msg, content_type='text/plain', content_encoding='utf-8')
    _run(ctx, 'basic_publish', message, exchange, routing_key, mandatory, immediate)


@amqp.command(cls=CeleryCommand)
@click.pass_context
def repl(ctx: click.Context) -> None:
    """Interactive shell: type a command such as ``queue.declare myqueue``."""
    from click_repl import repl as click_repl
    click_repl(ctx.parent or ctx)

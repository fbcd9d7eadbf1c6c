"""``celery list bindings``: show queue/exchange bindings known to the broker."""
from __future__ import annotations

import click

from celery.bin.base import CeleryCommand, handle_preload_options

__all__ = ('list_', 'bindings')


@click.group(name='list')
@click.pass_context
@handle_preload_options
def list_(ctx: click.Context) -> None:
    """Get info from broker.

    Note:
        For RabbitMQ the management plugin is required.
    """


@list_.command(cls=CeleryCommand)
@click.pass_context
def bindings(ctx: click.Context) -> None:
    """Inspect queue bindings."""
    app = ctx.obj.app
    with app.connection() as conn:
        try:
            found = conn.manager.get_bindings()
        except NotImplementedError:
            raise click.UsageError('Your transport cannot list bindings.') from None
        except Exception as exc:  # the management API may be unreachable.
            raise click.ClickException(f'Cannot list bindings from {conn.as_uri()}: {exc}') from exc
    fmt = '{:<40}  {:<40}  {}'.format
    ctx.obj.echo(fmt('Queue', 'Exchange', 'Routing Key'))
    ctx.obj.echo(fmt('-' * 16, '-' * 16, '-' * 16))
    for binding in found:
        ctx.obj.echo(fmt(binding['destination'], binding['source'], binding['routing_key']))

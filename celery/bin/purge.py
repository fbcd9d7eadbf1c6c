"""``celery purge``: discard every waiting task message."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from celery.bin.base import (
    COMMA_SEPARATED_LIST,
    CeleryCommand,
    CeleryOption,
    handle_preload_options,
)

if TYPE_CHECKING:
    from kombu import Connection

__all__ = ('purge', 'purge_queues')


def purge_queues(connection: Connection, names: Iterable[str]) -> int:
    """Purge the named queues on ``connection``; return how many messages were removed.

    A queue that doesn't exist counts as empty (it can't hold messages).
    """
    total = 0
    for name in names:
        channel = connection.channel()
        try:
            total += channel.queue_purge(name) or 0
        except connection.channel_errors:
            pass  # the broker closed the channel: queue not declared yet.
        finally:
            try:
                channel.close()
            except connection.channel_errors + connection.connection_errors:
                pass
    return total


@click.command(cls=CeleryCommand, context_settings={'allow_extra_args': True})
@click.option('-f', '--force', cls=CeleryOption, is_flag=True, help_group='Purging Options',
              help="Don't prompt for verification.")
@click.option('-Q', '--queues', cls=CeleryOption, type=COMMA_SEPARATED_LIST,
              help_group='Purging Options',
              help='Comma separated list of queue names to purge.')
@click.option('-X', '--exclude-queues', cls=CeleryOption, type=COMMA_SEPARATED_LIST,
              help_group='Purging Options',
              help='Comma separated list of queues names not to purge.')
@click.pass_context
@handle_preload_options
def purge(ctx: click.Context, force: bool, queues: list[str] | None,
          exclude_queues: list[str] | None, **kwargs: Any) -> None:
    """Erase all messages from all known task queues.

    Warning:
        There's no undo operation for this command.
    """
    app = ctx.obj.app
    selected = set(queues or app.amqp.queues.keys())
    names = sorted(selected - set(exclude_queues or ()))
    if not names:
        ctx.obj.echo('No queues selected: nothing to purge.')
        return
    if not force:
        noun = 'queue' if len(names) == 1 else 'queues'
        click.confirm(
            f'{ctx.obj.style("WARNING", fg="red")}: This will remove all tasks from '
            f'{noun}: {", ".join(names)}.\n         There is no undo for this operation!\n\n'
            f'(to skip this prompt use the -f option)\nAre you sure you want to delete all tasks',
            abort=True)
    with app.connection_for_write() as connection:
        count = purge_queues(connection, names)
    if count:
        noun = 'message' if count == 1 else 'messages'
        ctx.obj.echo(f'Purged {count} {noun} from {len(names)} known task '
                     f'{"queue" if len(names) == 1 else "queues"}.')
    else:
        ctx.obj.echo(f'No messages purged from {len(names)} '
                     f'{"queue" if len(names) == 1 else "queues"}.')

"""``celery migrate``: move task messages from one broker to another."""
from __future__ import annotations

from typing import Any

import click

from celery.bin.base import CeleryCommand, CeleryOption, handle_preload_options

__all__ = ('migrate',)


@click.command(cls=CeleryCommand)
@click.argument('source')
@click.argument('destination')
@click.option('-n', '--limit', cls=CeleryOption, type=int, default=0,
              help_group='Migration Options',
              help='Number of tasks to consume (0: no limit).')
@click.option('-t', '--timeout', cls=CeleryOption, type=float, default=1.0,
              help_group='Migration Options',
              help='Stop after this many seconds without a message.')
@click.option('-a', '--ack-messages', cls=CeleryOption, is_flag=True,
              help_group='Migration Options',
              help='Ack messages from source broker (otherwise they are copied).')
@click.option('-T', '--tasks', cls=CeleryOption, help_group='Migration Options',
              help='Comma separated list of task names to migrate (default: all).')
@click.option('-Q', '--queues', cls=CeleryOption, help_group='Migration Options',
              help='Comma separated list of queues to migrate, each optionally '
                   'renamed as source:destination.')
@click.option('-F', '--forever', cls=CeleryOption, is_flag=True,
              help_group='Migration Options',
              help='Keep migrating new tasks until killed.')
@click.pass_context
@handle_preload_options
def migrate(ctx: click.Context, source: str, destination: str, limit: int,
            timeout: float, ack_messages: bool, tasks: str | None, queues: str | None,
            forever: bool, **kwargs: Any) -> None:
    """Migrate tasks from one broker to another.

    This command is experimental: keep a backup of the tasks before you continue.
    """
    from kombu import Connection

    from celery.contrib.migrate import migrate_tasks, task_id_of, task_name_of

    def on_migrate_task(state: Any, body: Any, message: Any) -> None:
        ctx.obj.echo(f'Migrating task {state.count}/{state.strtotal}: '
                     f'{task_name_of(body, message)}[{task_id_of(body, message)}]')

    with Connection(source) as source_conn, Connection(destination) as dest_conn:
        state = migrate_tasks(source_conn, dest_conn, app=ctx.obj.app, limit=limit or None,
                              timeout=timeout, ack_messages=ack_messages, tasks=tasks,
                              queues=queues, forever=forever, callback=on_migrate_task)
    noun = 'task' if state.count == 1 else 'tasks'
    ctx.obj.echo(f'Migrated {state.count} {noun}.')

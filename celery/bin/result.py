"""``celery result``: print the result (or traceback) of a task."""
from __future__ import annotations

import click

from celery.bin.base import CeleryCommand, CeleryOption, handle_preload_options

__all__ = ('result',)


@click.command(cls=CeleryCommand)
@click.argument('task_id')
@click.option('-t', '--task', cls=CeleryOption, help_group='Result Options',
              help="Name of task (if custom backend).")
@click.option('--traceback', cls=CeleryOption, is_flag=True, help_group='Result Options',
              help='Show traceback instead.')
@click.pass_context
@handle_preload_options
def result(ctx: click.Context, task_id: str, task: str | None, traceback: bool) -> None:
    """Print the return value for a given task id."""
    app = ctx.obj.app
    result_cls = app.tasks[task].AsyncResult if task else app.AsyncResult
    task_result = result_cls(task_id)
    if traceback:
        ctx.obj.echo(task_result.traceback)
        return
    value = task_result.get(propagate=False)
    if task_result.failed():
        # Celery lets the re-raised error end the command with a Python
        # traceback; the task's own traceback, as stored, ends the same way
        # ("ValueError: boom") and shows where the task failed.
        stored = (task_result.traceback or '').rstrip('\n')
        ctx.obj.error(stored or f'{type(value).__name__}: {value}')
        ctx.exit(1)
    ctx.obj.echo(ctx.obj.pretty(value)[1])

"""``celery dlq``: list, show, replay and purge the dead letters (task_dead_letter_queue)."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import click

from celery.app.dead_letter_store import (
    DeadLetter,
    DeadLetterFilter,
    discard,
    open_dead_letters,
    replay as replay_letter,
    select,
)
from celery.bin.base import CeleryCommand, CeleryOption, handle_preload_options
from celery.exceptions import (
    DeadLetterNotFound,
    DeadLetterQueueNotFound,
    ImproperlyConfigured,
)

__all__ = ('dlq',)

_ERRORS = (DeadLetterNotFound, DeadLetterQueueNotFound, ImproperlyConfigured)


def _filters(fun: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option('--task', cls=CeleryOption, help_group='Filter Options',
                     help='Only dead letters of this task name.'),
        click.option('--reason', cls=CeleryOption, help_group='Filter Options',
                     help='Only dead letters moved for this reason.'),
        click.option('--older-than', cls=CeleryOption, type=float, help_group='Filter Options',
                     help='Only dead letters older than this many seconds.'),
    ]
    for option in reversed(options):
        fun = option(fun)
    return fun


def _where(task: str | None, reason: str | None, older_than: float | None) -> DeadLetterFilter:
    return DeadLetterFilter(task=task, reason=reason, older_than=older_than)


def _when(letter: dict[str, Any]) -> str:
    stamp = float(letter.get('time') or 0)
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec='seconds')


def _summary(held: DeadLetter) -> str:
    letter = held.letter
    return (f'{held.id}  {_when(letter)}  {letter.get("reason")}  {letter.get("task")}'
            f'[{letter.get("task_id")}]  queue={letter.get("queue")}  '
            f'host={letter.get("hostname")}')


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc.args[0] if exc.args else exc))


@click.group(name='dlq')
@click.pass_context
@handle_preload_options
def dlq(ctx: click.Context) -> None:
    """Inspect and replay messages the workers moved to the dead-letter queue."""


@dlq.command(name='list', cls=CeleryCommand)
@_filters
@click.pass_context
def list_(ctx: click.Context, task: str | None, reason: str | None,
          older_than: float | None) -> None:
    """List dead letters: id, time, reason, task[id], queue and worker."""
    try:
        with open_dead_letters(ctx.obj.app) as letters:
            chosen = select(letters, None, _where(task, reason, older_than))
            for held in chosen:
                ctx.obj.echo(_summary(held))
    except _ERRORS as exc:
        raise _fail(exc) from exc
    ctx.obj.echo(f'{len(chosen)} dead letter(s).')


@dlq.command(cls=CeleryCommand)
@click.argument('dead_letter_id')
@click.pass_context
def show(ctx: click.Context, dead_letter_id: str) -> None:
    """Show one dead letter in full (its body as stored, base64)."""
    try:
        with open_dead_letters(ctx.obj.app) as letters:
            (held,) = select(letters, [dead_letter_id], DeadLetterFilter())
            ctx.obj.echo(json.dumps(held.letter, indent=2, sort_keys=True, default=repr))
    except _ERRORS as exc:
        raise _fail(exc) from exc


@dlq.command(cls=CeleryCommand)
@click.argument('ids', nargs=-1)
@_filters
@click.option('-Q', '--queue', cls=CeleryOption, help_group='Replay Options',
              help='Replay to this queue instead of the original one.')
@click.option('--new-id', cls=CeleryOption, is_flag=True, help_group='Replay Options',
              help='Give each replayed task a new id.')
@click.pass_context
def replay(ctx: click.Context, ids: tuple[str, ...], task: str | None, reason: str | None,
           older_than: float | None, queue: str | None, new_id: bool) -> None:
    """Send dead letters (the given ids, or every one that matches) back to a queue."""
    done = 0
    try:
        with open_dead_letters(ctx.obj.app) as letters:
            for held in select(letters, list(ids), _where(task, reason, older_than)):
                target = replay_letter(ctx.obj.app, held, queue=queue, new_id=new_id)
                ctx.obj.echo(f'Replayed {held.id} ({held.letter.get("task")}) to {target}.')
                done += 1
    except _ERRORS as exc:
        raise _fail(exc) from exc
    ctx.obj.echo(f'{done} dead letter(s) replayed.')


@dlq.command(cls=CeleryCommand)
@click.argument('ids', nargs=-1)
@_filters
@click.option('-f', '--force', cls=CeleryOption, is_flag=True, help_group='Purge Options',
              help="Don't prompt for verification.")
@click.pass_context
def purge(ctx: click.Context, ids: tuple[str, ...], task: str | None, reason: str | None,
          older_than: float | None, force: bool) -> None:
    """Remove dead letters for good (the given ids, or every one that matches)."""
    try:
        with open_dead_letters(ctx.obj.app) as letters:
            chosen = select(letters, list(ids), _where(task, reason, older_than))
            if chosen and not force:
                click.confirm(f'Remove {len(chosen)} dead letter(s) for good?', abort=True)
            for held in chosen:
                discard(held)
    except _ERRORS as exc:
        raise _fail(exc) from exc
    ctx.obj.echo(f'{len(chosen)} dead letter(s) purged.')

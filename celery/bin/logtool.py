"""``celery logtool``: summarize worker log files (counts, errors, tracebacks, unfinished tasks)."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fileinput import FileInput
from typing import IO

import click

from celery.bin.base import CeleryCommand

__all__ = ('logtool', 'Audit')

#: ``[2024-01-01 00:00:00,000: INFO/MainProcess] message``
RE_RECORD = re.compile(r'^\[(?P<time>[^\]]+?): (?P<level>[A-Z]+)/(?P<process>[^\]]+)\] (?P<message>.*)$')
RE_TASK = re.compile(r'^Task (?P<name>[\w.:\-]+)\[(?P<id>[^\]]+)\] (?P<what>\w+)')

OUTCOMES = {'succeeded': 'succeeded', 'raised': 'failed', 'retry': 'retried',
            'ignored': 'ignored', 'rejected': 'rejected'}

REPORT_FORMAT = """
Report
======
Task total: {task[total]}
Task errors: {task[errors]}
Task success: {task[succeeded]}
Task failed: {task[failed]}
Task retried: {task[retried]}
Task incomplete: {task[incomplete]}
Task types:
{types}
"""


@dataclass
class Audit:
    """What a pass over worker log lines found."""

    received: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)

    def feed(self, lines: Iterable[str]) -> Audit:
        """Consume log lines; tracebacks are the unprefixed lines following a record."""
        trace: list[str] | None = None
        for raw in lines:
            line = raw.rstrip('\n')
            record = RE_RECORD.match(line)
            if record is None:
                if line.startswith('Traceback (most recent call last):'):
                    trace = [line]
                elif trace is not None:
                    trace.append(line)
                continue
            if trace:
                self.traces.append('\n'.join(trace))
            trace = None
            self._record(record['level'], record['message'], line)
        if trace:
            self.traces.append('\n'.join(trace))
        return self

    def _record(self, level: str, message: str, line: str) -> None:
        if level in ('ERROR', 'CRITICAL'):
            self.errors.append(line)
        task = RE_TASK.match(message)
        if task is None:
            return
        name, task_id, what = task['name'], task['id'], task['what']
        if what == 'received':
            self.received[task_id] = name
            self.types[name] += 1
            self.counts['total'] += 1
        elif what in OUTCOMES:
            self.finished.add(task_id)
            self.counts[OUTCOMES[what]] += 1

    @property
    def incomplete(self) -> dict[str, str]:
        """Tasks received but never reported finished: ``{id: name}``."""
        return {tid: name for tid, name in self.received.items() if tid not in self.finished}

    def report(self) -> str:
        """Return the statistics as text."""
        task = {key: self.counts[key] for key in ('total', 'succeeded', 'failed', 'retried')}
        task.update(errors=len(self.errors), incomplete=len(self.incomplete))
        types = '\n'.join(f'    {name}: {count}' for name, count in self.types.most_common())
        return REPORT_FORMAT.format(task=task, types=types or '    (none)')


def _audit(files: tuple[str, ...]) -> Audit:
    with FileInput(files, openhook=_open_text) as lines:
        return Audit().feed(lines)


def _open_text(path: str, mode: str) -> IO[str]:
    # FileInput's openhook signature; log files are always read as text.
    return open(path, encoding='utf-8', errors='replace')


_log_files = click.argument('files', nargs=-1, required=True,
                            type=click.Path(exists=True, dir_okay=False))


@click.group()
def logtool() -> None:
    """The ``celery logtool`` command."""


@logtool.command(cls=CeleryCommand)
@_log_files
@click.pass_context
def stats(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Count received, succeeded, failed and unfinished tasks."""
    ctx.obj.echo(_audit(files).report())


@logtool.command(cls=CeleryCommand)
@_log_files
@click.pass_context
def traces(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Print every traceback."""
    for trace in _audit(files).traces:
        ctx.obj.echo(trace)
        ctx.obj.echo('')


@logtool.command(cls=CeleryCommand)
@_log_files
@click.pass_context
def errors(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Print every ERROR and CRITICAL line."""
    for line in _audit(files).errors:
        ctx.obj.echo(line)


@logtool.command(cls=CeleryCommand)
@_log_files
@click.pass_context
def incomplete(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Print the ids of tasks received but never finished."""
    for task_id, name in _audit(files).incomplete.items():
        ctx.obj.echo(f'{task_id} {name}')


@logtool.command(cls=CeleryCommand)
@_log_files
@click.pass_context
def debug(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Print the task lines as they are parsed."""
    with FileInput(files, openhook=_open_text) as lines:
        for line in lines:
            record = RE_RECORD.match(line.rstrip('\n'))
            task = RE_TASK.match(record['message']) if record else None
            if task:
                ctx.obj.echo(f"{task['what']:<10} {task['name']}[{task['id']}]")

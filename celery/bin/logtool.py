"""``celery logtool``: summarize worker log files (counts, errors, tracebacks, unfinished tasks)."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from fileinput import FileInput
from typing import IO, Any

import click

from celery.bin.base import CeleryCommand

__all__ = ('logtool', 'Audit', 'task_info')

#: ``[2024-01-01 00:00:00,000: INFO/MainProcess] message``
RE_RECORD = re.compile(r'^\[(?P<time>[^\]]+?): (?P<level>[A-Z]+)/(?P<process>[^\]]+)\] (?P<message>.*)$')
RE_TASK = re.compile(r'^Task (?P<name>[\w.:\-]+)\[(?P<id>[^\]]+)\] (?P<what>\w+)(?P<rest>.*)$')

OUTCOMES = {'succeeded': 'succeeded', 'retry': 'retried',
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


def task_info(line: str) -> tuple[str, str, str | None] | None:
    """Return ``(task_name, task_id, result)`` of a worker's task log line, else ``None``.

    ``result`` is the text after ``: `` on a finished task's line (the return
    value or the exception), ``None`` on other lines.
    """
    record = RE_RECORD.match(line.rstrip('\n'))
    task = RE_TASK.match(record['message']) if record else None
    if task is None:
        return None
    _, sep, result = task['rest'].partition(': ')
    return task['name'], task['id'], (result if sep else None)


class Audit:
    """What a pass over worker log lines found; the ``on_*`` callbacks see it as it is found.

    ``on_task_error(line, task_name, task_id, result)`` is called for each
    failed task, ``on_trace(text)`` for each traceback and ``on_debug(text)``
    for each task line understood.
    """

    def __init__(self, on_task_error: Callable[[str, str, str, str | None], Any] | None = None,
                 on_trace: Callable[[str], Any] | None = None,
                 on_debug: Callable[[str], Any] | None = None) -> None:
        self.on_task_error = on_task_error
        self.on_trace = on_trace
        self.on_debug = on_debug
        self.received: dict[str, str] = {}
        self.finished: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.types: Counter[str] = Counter()
        self.errors: list[str] = []
        self.traces: list[str] = []
        self._trace: list[str] | None = None

    def run(self, files: Iterable[str]) -> Audit:
        """Feed every line of the log ``files``."""
        with FileInput(tuple(files), openhook=_open_text) as lines:
            for line in lines:
                self.feed(line)
        self._end_trace()
        return self

    def feed(self, line: str) -> None:
        """Consume one log line; tracebacks are the unprefixed lines following a record."""
        line = line.rstrip('\n')
        record = RE_RECORD.match(line)
        if record is None:
            if line.startswith('Traceback (most recent call last):'):
                self._end_trace()
                self._trace = [line]
            elif self._trace is not None:
                self._trace.append(line)
            return
        self._end_trace()
        if record['level'] in ('ERROR', 'CRITICAL'):
            self.errors.append(line)
        task = RE_TASK.match(record['message'])
        if task is not None:
            self._task_line(line, task)

    def _task_line(self, line: str, task: re.Match[str]) -> None:
        name, task_id, what = task['name'], task['id'], task['what']
        _, _, result = task['rest'].partition(': ')
        if self.on_debug is not None:
            self.on_debug(f'{what:<10} {name}[{task_id}]')
        if what == 'received':
            self.task_received(line, name, task_id)
        elif what == 'raised':
            self.task_error(line, name, task_id, result or None)
        elif what in OUTCOMES:
            self.task_ready(line, name, task_id, result or None)
            self.counts[OUTCOMES[what]] += 1

    def _end_trace(self) -> None:
        if self._trace:
            text = '\n'.join(self._trace)
            self.traces.append(text)
            if self.on_trace is not None:
                self.on_trace(text)
        self._trace = None

    def task_received(self, line: str, task_name: str, task_id: str) -> None:
        """Record that the worker received a task."""
        self.received[task_id] = task_name
        self.types[task_name] += 1
        self.counts['total'] += 1

    def task_ready(self, line: str, task_name: str, task_id: str, result: str | None) -> None:
        """Record that a task finished (``result`` is the logged return value or reason)."""
        self.finished.add(task_id)

    def task_error(self, line: str, task_name: str, task_id: str, result: str | None) -> None:
        """Record that a task raised (``result`` is the logged exception)."""
        self.task_ready(line, task_name, task_id, result)
        self.counts['failed'] += 1
        if self.on_task_error is not None:
            self.on_task_error(line, task_name, task_id, result)

    def incomplete_tasks(self) -> set[str]:
        """Ids of the tasks received but never reported finished."""
        return set(self.received) - self.finished

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


def _audit(files: tuple[str, ...], **callbacks: Any) -> Audit:
    return Audit(**callbacks).run(files)


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
    def say(trace: str) -> None:
        ctx.obj.echo(trace)
        ctx.obj.echo('')
    _audit(files, on_trace=say)


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
    _audit(files, on_debug=ctx.obj.echo)

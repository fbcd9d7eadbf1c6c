"""Text the curses monitor shows: layout constants, key names and screen lines.

Nothing here touches a curses window, so every function is testable as is;
:mod:`celery.events.cursesmon` re-exports these names.
"""
from __future__ import annotations

import curses
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from celery import states

if TYPE_CHECKING:
    from celery.events.state import Task

T = TypeVar('T')

__all__ = (
    'UUID_WIDTH', 'STATE_WIDTH', 'TIMESTAMP_WIDTH', 'MIN_TASK_WIDTH', 'MIN_WORKER_WIDTH',
    'BORDER_SPACING', 'LEFT_BORDER_OFFSET', 'STATUS_SCREEN', 'KEY_ALIASES',
    'key_name', 'format_reply', 'seconds_ago', 'task_info_lines', 'step', 'column_widths',
)

UUID_WIDTH = 36
STATE_WIDTH = 8
TIMESTAMP_WIDTH = 8
#: Narrowest the task-name column gets, however small the terminal.
MIN_TASK_WIDTH = 16
#: Narrowest the worker column gets, however small the terminal.
MIN_WORKER_WIDTH = 15
#: Columns a modal box (task info, replies) leaves free around its text.
BORDER_SPACING = 4
#: Column where the text inside a modal box starts.
LEFT_BORDER_OFFSET = 3
#: The counters line below the list (``str.format`` fields).
STATUS_SCREEN = 'Events: {events} tasks:{tasks} workers:{alive}/{workers}'
#: Rows below the list: selection, workers, counters, message, blank, keys.
FOOTER_HEIGHT = 6
#: Rows above the list: title, blank, column header.
HEADER_HEIGHT = 3
#: Seconds to wait for the replies of a remote-control command.
REPLY_TIMEOUT = 1.0
#: Task fields listed first on the info screen, in this order.
TASK_MAIN_FIELDS = ('args', 'kwargs', 'result', 'exception', 'runtime', 'retries', 'eta',
                    'expires', 'root_id', 'parent_id', 'exchange', 'routing_key')
#: Task fields holding the UNIX time of an event, shown as dates.
TASK_TIME_FIELDS = ('sent', 'received', 'started', 'succeeded', 'failed', 'retried',
                    'revoked', 'rejected')
#: Event envelope fields that say nothing about the task itself.
ENVELOPE_FIELDS = ('clock', 'pid', 'utcoffset', 'local_received', 'timestamp')

TASK_HELP = 'j:down k:up i:info t:traceback r:result c:revoke l:rate-limit w:workers q:quit'
DETAIL_HELP = 'j/k: scroll, any other key: back'
NO_TASK = 'No task selected: move the selection with j/k first.'
NO_REPLY = 'No replies received within {timeout}s.'

STATE_COLORS = {
    states.SUCCESS: curses.COLOR_GREEN,
    states.FAILURE: curses.COLOR_RED,
    states.STARTED: curses.COLOR_YELLOW,
    states.REVOKED: curses.COLOR_MAGENTA,
    states.RETRY: curses.COLOR_CYAN,
}

#: Keys that act like a letter of the key map.
KEY_ALIASES = {
    curses.KEY_DOWN: 'J',
    curses.KEY_UP: 'K',
    curses.KEY_ENTER: 'I',
    ord('\n'): 'I',
    ord('\r'): 'I',
}


def key_name(key: int, aliases: dict[int, str] = KEY_ALIASES) -> str | None:
    """Return the upper-case letter (or alias) a ``getch`` code stands for."""
    if key in aliases:
        return aliases[key]
    if 0 <= key < 256:
        return chr(key).upper()
    return None


def format_reply(replies: list[dict[str, Any]] | None, timeout: float) -> list[str]:
    """One ``node: answer`` line per remote-control reply."""
    lines = []
    for reply in replies or ():
        for node, answer in reply.items():
            if isinstance(answer, dict) and 'error' in answer:
                lines.append(f'{node}: ERROR: {answer["error"]}')
            elif isinstance(answer, dict) and 'ok' in answer:
                lines.append(f'{node}: {answer["ok"]}')
            else:
                lines.append(f'{node}: {answer}')
    return lines or [NO_REPLY.format(timeout=timeout)]


def seconds_ago(timestamp: float | None) -> str:
    """``3.2s ago`` for a past UNIX time, ``-`` when unknown."""
    if not timestamp:
        return '-'
    return f'{max(time.time() - timestamp, 0.0):.1f}s ago'


def column_widths(screen_width: int) -> tuple[int, int]:
    """Widths of the worker and task-name columns on a terminal this wide."""
    # Everything, STATE included, should fit on one line of the terminal.
    rest = screen_width - 1 - UUID_WIDTH - STATE_WIDTH - TIMESTAMP_WIDTH - 5
    worker = max(MIN_WORKER_WIDTH, rest // 2)
    return worker, max(MIN_TASK_WIDTH, rest - worker)


def task_info_lines(task: Task) -> list[str]:
    """``field: value`` lines for a task: the main fields, then times, then the rest."""
    fields = vars(task)
    worker = task.worker.hostname if task.worker else None
    lines = [f'{key}: {value}' for key, value in
             [('uuid', task.uuid), ('name', task.name), ('state', task.state),
              ('worker', worker), ('client', task.client)]
             + [(key, fields.get(key)) for key in TASK_MAIN_FIELDS]
             if value is not None]
    lines += [f'{key}: {datetime.fromtimestamp(fields[key]).isoformat(" ")}'
              for key in TASK_TIME_FIELDS if fields.get(key)]
    shown = {'uuid', 'name', 'state', 'worker', 'client', 'traceback', 'cluster_state',
             'children', *TASK_MAIN_FIELDS, *TASK_TIME_FIELDS, *ENVELOPE_FIELDS}
    lines += [f'{key}: {value}' for key, value in sorted(fields.items())
              if key not in shown and value is not None]
    return lines


def step(items: list[T], current: T | None, direction: int) -> T | None:
    """The item ``direction`` places from ``current`` (the first or last one if unknown)."""
    if not items:
        return current
    index = items.index(current) + direction if current in items else \
        (0 if direction > 0 else len(items) - 1)
    return items[min(max(index, 0), len(items) - 1)]

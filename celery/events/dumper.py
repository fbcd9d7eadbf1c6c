"""``celery events --dump``: print every event as it arrives."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from celery.utils.collections import LRUCache
from celery.utils.time import humanize_seconds

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('Dumper', 'evdump')

#: ``name(uuid) args kwargs`` of recently received tasks, for their later events.
#: Bounded: a dump may run for weeks.
TASK_NAMES: LRUCache = LRUCache(limit=10000)

# Celery's wording for worker events, kept verbatim (people grep dumps for it).
HUMAN_TYPES = {
    'worker-offline': 'shutdown',
    'worker-online': 'started',
    'worker-heartbeat': 'heartbeat',
}

# Celery's user-visible text, kept verbatim.
CONNECTION_ERROR = """\
-> Cannot connect to %s: %s.
Trying again %s
"""


def humanize_type(type: str) -> str:
    """``task-succeeded`` -> ``task succeeded``; worker events get plain words."""
    return HUMAN_TYPES.get(type) or type.lower().replace('-', ' ')


class Dumper:
    """Write one line per event to ``out``."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def say(self, msg: str) -> None:
        """Write a line (ignoring a closed pipe)."""
        print(msg, file=self.out)
        try:
            self.out.flush()
        except (AttributeError, BrokenPipeError):
            pass

    def on_event(self, ev: dict[str, Any]) -> None:
        """Format and print one event (fields a sender left out print as ``?``)."""
        timestamp = datetime.fromtimestamp(ev.pop('timestamp', 0) or 0, tz=timezone.utc)
        type = str(ev.pop('type', 'unknown')).lower()
        hostname = ev.pop('hostname', '?')
        if type.startswith('task-'):
            uuid = ev.pop('uuid', '?')
            if type in ('task-received', 'task-sent'):
                task = TASK_NAMES[uuid] = '{}({}) args={} kwargs={}'.format(
                    ev.pop('name', '?'), uuid, ev.pop('args', '?'), ev.pop('kwargs', '?'))
            else:
                task = TASK_NAMES.get(uuid, '')
            return self.format_task_event(hostname, timestamp, type, task, ev)
        fields = ', '.join(f'{key}={ev[key]}' for key in sorted(ev))
        sep = fields and ':' or ''
        self.say(f'{hostname} [{timestamp}] {humanize_type(type)}{sep} {fields}')

    def format_task_event(self, hostname: str, timestamp: datetime, type: str,
                          task: str, event: dict[str, Any]) -> None:
        """Print a task event: node, time, what happened, task, fields."""
        fields = ', '.join(f'{key}={event[key]}' for key in sorted(event))
        sep = fields and ':' or ''
        self.say(f'{hostname} [{timestamp}] {humanize_type(type)}{sep} {task} {fields}')


def evdump(app: Celery | None = None, out: TextIO = sys.stdout) -> None:
    """Print every event until interrupted, reconnecting when the broker goes away."""
    from celery._state import app_or_default
    app = app_or_default(app)
    dumper = Dumper(out=out)
    dumper.say('-> evdump: starting capture...')
    connection = app.connection_for_read().clone()

    def report_retry(exc: BaseException, interval: float) -> None:
        retry_in = humanize_seconds(interval, 'in', ' ')
        dumper.say(CONNECTION_ERROR % (connection.as_uri(), exc, retry_in))

    recoverable = connection.connection_errors + connection.channel_errors
    try:
        while True:
            try:
                connection.ensure_connection(report_retry)
                app.events.Receiver(connection, handlers={'*': dumper.on_event}).capture()
            except recoverable:
                dumper.say('-> Connection lost, attempting reconnect')
    except (KeyboardInterrupt, SystemExit):
        # Ctrl+C is how a dump ends: not an error.
        connection.close()

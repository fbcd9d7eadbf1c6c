"""``celery events --dump`` lines."""
from __future__ import annotations

import io

from celery.events.dumper import Dumper


def dump(*events: dict) -> list[str]:
    out = io.StringIO()
    dumper = Dumper(out=out)
    for event in events:
        dumper.on_event(dict(event))
    return out.getvalue().splitlines()


def test_task_events_name_the_task_received_earlier() -> None:
    lines = dump(
        {'type': 'task-received', 'hostname': 'w1@x', 'timestamp': 0, 'uuid': 'u1',
         'name': 'proj.add', 'args': '(1, 2)', 'kwargs': '{}'},
        {'type': 'task-succeeded', 'hostname': 'w1@x', 'timestamp': 1, 'uuid': 'u1',
         'result': '3'},
        {'type': 'task-progress', 'hostname': 'w1@x', 'timestamp': 2, 'uuid': 'u1',
         'current': 1, 'total': 10},
    )
    assert lines[0].startswith('w1@x [1970-01-01 00:00:00+00:00] task received')
    assert 'task succeeded: proj.add(u1) args=(1, 2) kwargs={} result=3' in lines[1]
    assert 'task progress: proj.add(u1) args=(1, 2) kwargs={} current=1, total=10' in lines[2]


def test_worker_events_use_plain_words() -> None:
    [line] = dump({'type': 'worker-online', 'hostname': 'w1@x', 'timestamp': 0, 'freq': 2.0})
    assert line.endswith('started: freq=2.0')


def test_an_incomplete_event_is_printed_not_fatal() -> None:
    [line] = dump({'type': 'task-received'})
    assert line.startswith('? [') and '?(?) args=? kwargs=?' in line

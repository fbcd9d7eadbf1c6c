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


class FakeConnection:
    connection_errors = (ConnectionError,)
    channel_errors = (LookupError,)

    def __init__(self) -> None:
        self.closed = False
        self.ensured = 0

    def clone(self) -> FakeConnection:
        return self

    def as_uri(self) -> str:
        return 'amqp://guest:**@broker:5672//'

    def ensure_connection(self, errback) -> None:
        self.ensured += 1
        if self.ensured == 1:
            errback(OSError('refused'), 2.0)

    def close(self) -> None:
        self.closed = True


class FakeApp:
    def __init__(self, outcomes: list[BaseException | None]) -> None:
        self.connection = FakeConnection()
        self.outcomes = outcomes
        self.handlers: list[dict] = []
        app = self

        class Receiver:
            def __init__(self, connection, handlers):
                assert connection is app.connection
                app.handlers.append(handlers)

            def capture(self):
                outcome = app.outcomes.pop(0)
                if outcome is not None:
                    raise outcome

        self.events = type('Events', (), {'Receiver': Receiver})()

    def connection_for_read(self) -> FakeConnection:
        return self.connection


def test_evdump_reconnects_after_connection_loss_until_interrupted() -> None:
    from celery.events.dumper import evdump
    app = FakeApp([ConnectionError('gone'), LookupError('channel'), KeyboardInterrupt()])
    out = io.StringIO()
    assert evdump(app=app, out=out) is None
    lines = out.getvalue().splitlines()
    assert lines[0] == '-> evdump: starting capture...'
    assert lines[1] == '-> Cannot connect to amqp://guest:**@broker:5672//: refused.'
    assert lines[2] == 'Trying again in 2.00 seconds'
    assert lines.count('-> Connection lost, attempting reconnect') == 2
    assert app.connection.ensured == 3 and app.connection.closed
    assert all(set(h) == {'*'} for h in app.handlers)


def test_evdump_lets_other_errors_through() -> None:
    from celery.events.dumper import evdump
    app = FakeApp([ValueError('bug')])
    try:
        evdump(app=app, out=io.StringIO())
    except ValueError:
        pass
    else:
        raise AssertionError('ValueError was swallowed')
    assert not app.connection.closed

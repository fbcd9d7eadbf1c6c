"""Request fields read from the message on demand, and what Celery's parameters do."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from celery.worker.request import Request


class Message:
    """A protocol 2 task message; counts how often its body is decoded."""

    properties: dict = {}
    delivery_info: dict = {'exchange': '', 'routing_key': 'celery'}
    content_type = 'application/json'
    content_encoding = 'utf-8'

    def __init__(self, headers: dict, embed: dict | None = None) -> None:
        self.headers = {'id': 'r1', 'task': 'proj.add', **headers}
        self.body = b'<raw>'
        self.embed = embed or {}
        self.decoded = 0

    def decode(self):
        self.decoded += 1
        return [[1, 2], {}, self.embed]


@pytest.fixture
def add(app):
    @app.task(name='proj.add')
    def add(x, y):
        return x + y
    return add


def request_for(app, task, headers=None, embed=None, **kwargs):
    message = Message(headers or {}, embed)
    return Request(message, app=app, task=task, **kwargs), message


def test_group_fields_come_from_the_headers_without_decoding(app, add):
    req, message = request_for(app, add, {'group': 'g1', 'group_index': 3,
                                          'groups': ['outer', 'g1'],
                                          'replaced_task_nesting': 2})
    assert (req.group, req.group_index, req.groups) == ('g1', 3, ['outer', 'g1'])
    assert req.replaced_task_nesting == 2
    assert message.decoded == 0


def test_group_fields_default_when_the_client_sent_none(app, add):
    req, _ = request_for(app, add)
    assert req.group is None and req.group_index is None
    assert req.groups == [] and req.replaced_task_nesting == 0


def test_chord_and_errbacks_decode_the_body_only_when_asked(app, add):
    chord = {'task': 'proj.tsum', 'options': {}}
    req, message = request_for(app, add, embed={'chord': chord, 'errbacks': [{'task': 'e'}]})
    assert message.decoded == 0
    assert req.chord == chord and req.errbacks == [{'task': 'e'}]
    assert message.decoded == 1


def test_an_undecodable_body_has_no_chord(app, add):
    req, message = request_for(app, add)
    message.decode = lambda: (_ for _ in ()).throw(ValueError('garbage'))
    assert req.chord is None and req.errbacks is None


def test_id_and_name_are_slots_on_the_class():
    assert type(Request.__dict__['id']).__name__ == 'member_descriptor'
    assert type(Request.__dict__['name']).__name__ == 'member_descriptor'


def test_requests_still_take_any_attribute(app, add):
    req, _ = request_for(app, add, {'shadow': 'proj.shadowed'})
    req.custom = 1
    assert req.id == 'r1' and req.name == 'proj.shadowed' and req.custom == 1


def test_a_request_made_by_hand_needs_no_app():
    # As django-celery-results' tests build one: a decoded message and a task name.
    req = Request(Message({'argsrepr': '(1, 2)'}), decoded=True, task='proj.add',
                  body=((1, 2), {}, {}))
    assert (req.id, req.name, req.argsrepr) == ('r1', 'proj.add', '(1, 2)')


def test_time_parsers_can_be_replaced(app, add):
    seen = []

    def parse(value):
        seen.append(value)
        return datetime(2030, 1, 1)

    def make_aware(dt, tz):
        return dt.replace(tzinfo=tz)

    req, _ = request_for(app, add, {'eta': 'when', 'expires': 'later'},
                         maybe_iso8601=parse, maybe_make_aware=make_aware)
    assert seen == ['when', 'later']
    assert req.eta == datetime(2030, 1, 1, tzinfo=timezone.utc)


class Backend:
    def __init__(self) -> None:
        self.retries: list = []

    def mark_as_retry(self, task_id, exc, request=None):
        self.retries.append((task_id, type(exc).__name__))


def cancelled(app, add, emit_retry, started=True):
    req, _ = request_for(app, add)
    add.backend = Backend()
    events, killed = [], []
    req.send_event = lambda type_, **fields: events.append(type_)
    if started:
        req.time_start, req.worker_pid = 1.0, 42
    pool = SimpleNamespace(terminate_job=lambda pid, sig: killed.append(pid))
    req.cancel(pool, emit_retry=emit_retry)
    return req, add.backend, events, killed


def test_cancel_reports_the_task_as_to_be_retried(app, add):
    req, backend, events, killed = cancelled(app, add, emit_retry=True)
    assert killed == [42]
    assert backend.retries == [('r1', 'WorkerLostError')]
    assert events == ['task-retried']
    assert req._already_cancelled


def test_cancel_without_emit_retry_reports_nothing(app, add):
    _, backend, events, killed = cancelled(app, add, emit_retry=False)
    assert killed == [42] and backend.retries == [] and events == []


def test_cancel_of_a_task_not_started_terminates_nothing(app, add):
    _, _, _, killed = cancelled(app, add, emit_retry=True, started=False)
    assert killed == []

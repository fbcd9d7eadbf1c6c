"""Message conversion and request parsing."""
from __future__ import annotations

import pytest

from celery.exceptions import InvalidTaskError
from celery.worker.strategy import hybrid_to_proto2


class FakeMessage:
    headers: dict = {}
    properties: dict = {}
    delivery_info: dict = {'exchange': '', 'routing_key': 'celery'}
    content_type = 'application/json'
    content_encoding = 'utf-8'

    def __init__(self, body=None, headers=None):
        self.body = body
        self.headers = headers or {}


def test_protocol1_body_becomes_protocol2():
    body = {'task': 't.add', 'id': 'abc', 'args': [1, 2], 'kwargs': {'z': 3}, 'retries': 2,
            'eta': None, 'callbacks': ['cb'], 'taskset': 'g1'}
    (args, kwargs, embed), headers, decoded, utc = hybrid_to_proto2(FakeMessage(), body)
    assert (args, kwargs) == ([1, 2], {'z': 3})
    assert headers['id'] == 'abc' and headers['task'] == 't.add'
    assert headers['retries'] == 2 and headers['group'] == 'g1'
    assert embed['callbacks'] == ['cb']
    assert decoded and utc


def test_protocol1_missing_fields_is_invalid():
    with pytest.raises(InvalidTaskError):
        hybrid_to_proto2(FakeMessage(), {'args': []})


def test_protocol1_kwargs_must_be_mapping():
    with pytest.raises(InvalidTaskError):
        hybrid_to_proto2(FakeMessage(), {'task': 'x', 'id': 'y', 'kwargs': [1]})


def test_request_rejects_missing_id(app):
    from celery.worker.request import Request

    @app.task
    def add(x, y):
        return x + y

    msg = FakeMessage(body=b'[[1, 2], {}, {}]', headers={'task': add.name})
    with pytest.raises(InvalidTaskError):
        Request(msg, app=app, task=add)


def test_request_decodes_args_lazily(app):
    from celery.worker.request import Request

    @app.task
    def add(x, y):
        return x + y

    class Msg(FakeMessage):
        decoded = 0

        def decode(self):
            Msg.decoded += 1
            return [[1, 2], {}, {}]

    msg = Msg(body=b'[[1, 2], {}, {}]',
              headers={'task': add.name, 'id': 'r1', 'argsrepr': '(1, 2)', 'eta': None})
    req = Request(msg, app=app, task=add)
    assert req.argsrepr == '(1, 2)' and Msg.decoded == 0
    assert req.args == [1, 2] and Msg.decoded == 1


def test_request_parses_bad_eta_as_invalid(app):
    from celery.worker.request import Request

    @app.task
    def add(x, y):
        return x + y

    msg = FakeMessage(body=b'[[], {}, {}]', headers={'task': add.name, 'id': 'r2',
                                                    'eta': 'not-a-date'})
    with pytest.raises(InvalidTaskError):
        Request(msg, app=app, task=add)


class Consumer:
    """What the strategy reads from the consumer; records where requests go."""

    hostname = 'strategy@test'
    connection_errors = ()
    event_dispatcher = None
    disable_rate_limits = True
    initial_prefetch_count = 8

    def __init__(self) -> None:
        from types import SimpleNamespace
        from celery.utils.collections import LimitedSet
        self.controller = SimpleNamespace(state=SimpleNamespace(revoked=LimitedSet()))
        self.pool = SimpleNamespace(apply_async=None)
        self.qos = SimpleNamespace(value=8, increment_eventually=lambda n=1: None)
        self.handled, self.timed = [], []
        self.task_buckets = {}
        self.timer = SimpleNamespace(call_at=lambda eta, fun, args, priority: self.timed.append(
            (eta, args[0])))

    def on_task_request(self, req):
        self.handled.append(req)

    apply_eta_task = _limit_task = _limit_post_eta = None


@pytest.fixture
def handler(app):
    from celery.worker import state
    from celery.worker.strategy import default
    state.reset_state()

    @app.task(name='proj.add')
    def add(x, y):
        return x + y
    consumer, errors = Consumer(), []
    yield default(add, app, consumer, error=lambda *a, **k: errors.append(a)), consumer, errors
    state.reset_state()


def _message(**headers):
    msg = FakeMessage(body=memoryview(b'[[1, 2], {}, {}]'),
                      headers={'task': 'proj.add', 'id': 'm1', **headers})
    msg.ack = msg.reject = lambda *a, **k: None
    return msg


def test_a_memoryview_body_is_copied_before_the_request_keeps_it(handler):
    handle, consumer, _ = handler
    handle(_message(), None, lambda *a: None, lambda *a: None, ())
    [req] = consumer.handled
    assert type(req.body) is bytes and req.body == b'[[1, 2], {}, {}]'


def test_an_eta_task_is_listed_as_scheduled(handler):
    from celery.worker import state
    handle, consumer, _ = handler
    handle(_message(eta='2030-01-01T00:00:00+00:00'), None, lambda *a: None,
           lambda *a: None, ())
    [(_, req)] = consumer.timed
    assert req in state.scheduled_requests and consumer.handled == []


def test_an_unusable_eta_is_reported_through_error(app, handler):
    from celery.worker.strategy import default
    _, consumer, errors = handler

    def to_system_tz(dt):
        raise OverflowError('date value out of range')
    handle = default(app.tasks['proj.add'], app, consumer, to_system_tz=to_system_tz,
                     error=lambda *a, **k: errors.append(a))
    rejected = []
    handle(_message(eta='2030-01-01T00:00:00+00:00'), None, lambda *a: None,
           lambda *a: rejected.append(a), ())
    assert consumer.timed == [] and consumer.handled == []
    assert errors and "Couldn't convert ETA" in errors[0][0]
    assert rejected  # rejected without requeue: the message can never run

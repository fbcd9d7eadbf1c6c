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

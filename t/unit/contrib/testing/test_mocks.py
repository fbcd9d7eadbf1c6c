"""Mock task messages built by celery.contrib.testing.mocks."""
from __future__ import annotations

from datetime import datetime

from kombu.serialization import loads

from celery.contrib.testing.app import TestApp
from celery.contrib.testing.mocks import (
    ContextMock,
    TaskMessage,
    TaskMessage1,
    task_message_from_sig,
)


def test_task_message_is_protocol_2() -> None:
    m = TaskMessage('proj.add', id='abc', args=(2, 2), kwargs={'z': 1}, retries=3)
    assert m.headers == {'id': 'abc', 'task': 'proj.add', 'shadow': None, 'retries': 3}
    assert m.content_type == 'application/json'
    body = loads(m.body, m.content_type, m.content_encoding)
    assert body == [[2, 2], {'z': 1}, {'callbacks': None, 'errbacks': None, 'chain': None}]
    assert m.payload == ((2, 2), {'z': 1}, {'callbacks': None, 'errbacks': None, 'chain': None})


def test_task_message_generates_ids() -> None:
    assert TaskMessage('t').headers['id'] != TaskMessage('t').headers['id']


def test_task_message1_is_protocol_1() -> None:
    m = TaskMessage1('proj.add', id='abc', args=[1], kwargs={}, eta='2030-01-01T00:00:00')
    assert m.headers == {}
    assert m.payload['task'] == 'proj.add'
    assert m.payload['id'] == 'abc'
    assert m.payload['eta'] == '2030-01-01T00:00:00'
    assert loads(m.body, m.content_type, m.content_encoding)['args'] == [1]


def test_task_message_from_sig_converts_options() -> None:
    app = TestApp()

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    sig = add.s(1, 2).set(countdown=10, expires=60, priority=3)
    sig.link(add.s(3))
    m = task_message_from_sig(app, sig)
    assert m.headers['task'] == add.name
    assert m.headers['id'] == sig.id
    assert m.headers['priority'] == 3
    eta = datetime.fromisoformat(m.headers['eta'])
    expires = datetime.fromisoformat(m.headers['expires'])
    assert 0 < (expires - eta).total_seconds() <= 50.5
    assert m.payload[0] == (1, 2)
    assert m.payload[2]['callbacks'][0]['task'] == add.name
    assert 'countdown' in sig.options  # the signature is left untouched


def test_context_mock_works_in_with_statements() -> None:
    cm = ContextMock()
    with cm as entered:
        assert entered is cm
    cm.__enter__.assert_called_once_with()
    cm.__exit__.assert_called_once()

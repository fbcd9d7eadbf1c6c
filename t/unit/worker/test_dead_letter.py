"""Dead-letter envelopes, the redelivery limit, and both staying off by default."""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any
from unittest.mock import Mock

import pytest

from celery import Celery
from celery.app.dead_letter_store import DeadLetter, DeadLetterFilter, _letter_of, _Original
from celery.exceptions import ImproperlyConfigured
from celery.worker.dead_letter import (
    MALFORMED,
    MAX_REDELIVERIES,
    UNREGISTERED,
    dead_letter_message,
    envelope,
)
from celery.worker.redelivery_limit import REDELIVERIES_HEADER, guard_redeliveries


@pytest.fixture
def app() -> Any:
    app = Celery('dl', set_as_current=False, broker='memory://')
    yield app
    app.close()


def message(redelivered: bool = False, headers: Any = None) -> Mock:
    return Mock(name='message', body=b'\x00raw', content_type='application/json',
                content_encoding='utf-8', properties={'correlation_id': 'c1'},
                headers={'task': 't.x', 'id': 'i1'} if headers is None else headers,
                delivery_info={'exchange': 'q', 'routing_key': 'q', 'redelivered': redelivered})


def test_off_by_default_publishes_nothing_and_adds_no_step(app: Any) -> None:
    app.producer_or_acquire = Mock(name='producer_or_acquire')
    assert dead_letter_message(app, message(), MALFORMED, 'w@h') is False
    app.producer_or_acquire.assert_not_called()
    handler = Mock(name='handler')
    assert guard_redeliveries(Mock(app=app), handler) is handler


def test_envelope_keeps_exact_body_headers_and_origin() -> None:
    letter = envelope(message(), MALFORMED, 'w@h', 'why')
    assert base64.b64decode(letter['body']) == b'\x00raw'
    assert letter['headers'] == {'task': 't.x', 'id': 'i1'}
    assert (letter['task'], letter['task_id'], letter['queue']) == ('t.x', 'i1', 'q')
    assert (letter['reason'], letter['detail'], letter['hostname']) == (MALFORMED, 'why', 'w@h')
    assert letter['properties'] == {'correlation_id': 'c1'}


def test_envelope_of_bad_headers_is_still_json() -> None:
    letter = envelope(message(headers=['not', 'a', 'dict']), MALFORMED, 'w@h')
    assert letter['task'] is None and isinstance(letter['headers'], str)


def _consumer(app: Any, limit: int) -> Mock:
    app.conf.task_max_redeliveries = limit
    app.conf.task_dead_letter_queue = 'dead'
    return Mock(app=app, hostname='w@h', connection_errors=())


def test_redelivery_under_the_limit_is_counted_in_a_republished_copy(app: Any) -> None:
    producer = Mock(name='producer')
    app.producer_or_acquire = Mock(return_value=Mock(
        __enter__=Mock(return_value=producer), __exit__=Mock(return_value=False)))
    handler = Mock(name='handler')
    guarded = guard_redeliveries(_consumer(app, 2), handler)
    m = message(redelivered=True)
    guarded(m)
    handler.assert_not_called()
    kwargs = producer.publish.call_args.kwargs
    assert kwargs['headers'][REDELIVERIES_HEADER] == 1 and kwargs['routing_key'] == 'q'
    m.ack_log_error.assert_called_once()
    guarded(message())
    handler.assert_called_once()


def test_redelivery_over_the_limit_is_dead_lettered(app: Any, monkeypatch: Any) -> None:
    moved = []
    monkeypatch.setattr('celery.worker.redelivery_limit.dead_letter_message',
                        lambda *args, **kw: moved.append(args) or True)
    guarded = guard_redeliveries(_consumer(app, 1), Mock(name='handler'))
    m = message(redelivered=True, headers={'task': 't.x', 'id': 'i1', REDELIVERIES_HEADER: 1})
    guarded(m)
    assert moved[0][2] == MAX_REDELIVERIES
    m.ack_log_error.assert_called_once()


def test_filter() -> None:
    letter = {'task': 'a', 'reason': MALFORMED, 'time': 100.0}
    assert DeadLetterFilter().matches(letter)
    assert DeadLetterFilter(task='a', reason=MALFORMED, older_than=50).matches(letter, now=200)
    assert not DeadLetterFilter(older_than=150).matches(letter, now=200)
    assert not DeadLetterFilter(task='b').matches(letter)


# -- task_dead_letter_exchange ------------------------------------------------------------

def _dlx_app(broker: str, **conf: Any) -> Celery:
    app = Celery('dlx', set_as_current=False, broker=broker)
    app.conf.update({'task_dead_letter_queue': 'dead', 'task_dead_letter_exchange': True, **conf})
    return app


def test_dead_letter_exchange_off_by_default_leaves_declarations_alone(app: Any) -> None:
    app.conf.task_dead_letter_queue = 'dead'
    assert app.conf.task_dead_letter_exchange is False
    assert app.amqp.queues['celery'].queue_arguments is None
    assert app.amqp.queues['created.later'].queue_arguments is None


def test_dead_letter_exchange_declares_every_queue_but_the_dlq_on_amqp() -> None:
    app = _dlx_app('amqp://guest@localhost//', task_queue_max_priority=5)
    expected = {'x-dead-letter-exchange': 'dead', 'x-dead-letter-routing-key': 'dead',
                'x-max-priority': 5}
    assert app.amqp.queues['celery'].queue_arguments == expected
    assert app.amqp.queues['created.later'].queue_arguments == expected
    assert app.amqp.queues['dead'].queue_arguments == {'x-max-priority': 5}
    app.close()


def test_dead_letter_exchange_is_amqp_only() -> None:
    app = _dlx_app('redis://localhost:6379/10')
    assert app.amqp.queues['celery'].queue_arguments is None
    app.close()


def test_dead_letter_exchange_needs_a_queue() -> None:
    app = _dlx_app('amqp://guest@localhost//', task_dead_letter_queue=None)
    with pytest.raises(ImproperlyConfigured, match='needs task_dead_letter_queue'):
        assert app.amqp.queues
    app.close()


def test_rejected_messages_are_left_to_rabbitmq_others_copied_by_the_worker() -> None:
    app = _dlx_app('amqp://guest@localhost//')
    app.producer_or_acquire = Mock(return_value=Mock(
        __enter__=Mock(return_value=Mock(name='producer')), __exit__=Mock(return_value=False)))
    assert dead_letter_message(app, message(), MALFORMED, 'w@h') is False
    assert dead_letter_message(app, message(), UNREGISTERED, 'w@h') is False
    app.producer_or_acquire.assert_not_called()
    assert dead_letter_message(app, message(), MAX_REDELIVERIES, 'w@h') is True
    app.producer_or_acquire.assert_called_once()
    app.close()


def test_a_message_rabbitmq_dead_lettered_reads_as_a_letter() -> None:
    death = {'reason': 'rejected', 'queue': 'tasks', 'exchange': 'tasks',
             'time': datetime(2026, 1, 2, tzinfo=timezone.utc), 'count': 1}
    raw = message(headers={'task': 't.x', 'id': 'i1', 'x-death': [death],
                           'x-first-death-reason': 'rejected'})
    letter = _letter_of(raw)
    assert (letter['id'], letter['reason'], letter['queue']) == ('i1', 'rejected', 'tasks')
    assert letter['time'] == datetime(2026, 1, 2, tzinfo=timezone.utc).timestamp()
    assert letter['hostname'] is None
    assert base64.b64decode(letter['body']) == b'\x00raw'
    replayed = _Original(DeadLetter(letter, raw), new_id=False)
    assert replayed.headers == {'task': 't.x', 'id': 'i1'}

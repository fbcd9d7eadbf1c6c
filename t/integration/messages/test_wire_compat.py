"""Raw task messages on RabbitMQ and Redis carry exactly the fields Celery 5.7 puts there."""
from __future__ import annotations

import pytest

from celery import chord
from celery.exceptions import Retry
from t.integration.messages.conftest import is_amqp, take
from t.servers import REDIS_BACKEND_URL


@pytest.fixture
def add(broker_app):
    @broker_app.task(name='wire.add', shared=False)
    def add(x, y=0):
        return x + y
    return add


def no_priority(app) -> int | None:
    # kombu's Redis transport stores its own default (0) when a message has none.
    return None if is_amqp(app) else 0


# -- priority ----------------------------------------------------------------

def test_no_priority_property_unless_one_is_given(broker_app, add, reader, unique):
    queue = f'noprio-{unique}'
    add.apply_async((1, 1), queue=queue, ignore_result=True)
    broker_app.send_task('wire.add', (1, 1), queue=queue, ignore_result=True)
    assert [raw.properties.get('priority') for raw in take(reader, queue, 2)] == [
        no_priority(broker_app)] * 2


def test_priority_zero_option_is_sent(broker_app, add, reader, unique):
    queue = f'prio0-{unique}'
    add.apply_async((1, 1), queue=queue, priority=0, ignore_result=True)
    assert reader.get(queue).properties['priority'] == 0


def test_priority_from_route(broker_app, add, reader, unique):
    queue = f'prioroute-{unique}'
    broker_app.conf.task_routes = {'wire.*': {'queue': queue, 'priority': 4}}
    add.apply_async((1, 1), ignore_result=True)
    assert reader.get(queue).properties['priority'] == 4


def test_priority_from_default_priority_setting(broker_app, add, reader, unique):
    queue = f'priodefault-{unique}'
    broker_app.conf.task_default_priority = 5
    add.apply_async((1, 1), queue=queue, ignore_result=True)
    broker_app.send_task('wire.add', (1, 1), queue=queue, ignore_result=True)
    assert [raw.properties['priority'] for raw in take(reader, queue, 2)] == [5, 5]


def test_priority_from_task_option(broker_app, reader, unique):
    queue = f'priotask-{unique}'

    @broker_app.task(name='wire.urgent', shared=False, priority=6)
    def urgent():
        return 1
    urgent.apply_async(queue=queue, ignore_result=True)
    assert reader.get(queue).properties['priority'] == 6


# -- serialized signatures ---------------------------------------------------

def test_signatures_carry_no_chord_size_unless_set(broker_app, add, reader, unique):
    queue = f'sigs-{unique}'
    add.apply_async((1, 1), queue=queue, ignore_result=True,
                    link=add.s(1), link_error=add.si(0))
    (add.s(1, 1) | add.s(2) | add.s(3)).apply_async(queue=queue, ignore_result=True)
    linked, chained = take(reader, queue, 2)
    _, _, embed = linked.decode()
    assert [set(sig) for sig in embed['callbacks'] + embed['errbacks']] == [
        {'task', 'args', 'kwargs', 'options', 'subtask_type', 'immutable'}] * 2
    _, _, embed = chained.decode()
    assert len(embed['chain']) == 2
    assert all('chord_size' not in sig for sig in embed['chain'])


def test_chord_body_carries_its_size(broker_app, add, reader, unique):
    broker_app.conf.result_backend = REDIS_BACKEND_URL
    chord([add.s(1, 1), add.s(2, 2)], add.s()).apply_async()
    queue = broker_app.conf.task_default_queue
    for raw in take(reader, queue, 2):
        _, _, embed = raw.decode()
        assert embed['chord']['chord_size'] == 2


# -- headers -----------------------------------------------------------------

def test_send_task_leaves_ignore_result_to_the_worker(broker_app, reader, unique):
    queue = f'ignore-{unique}'
    broker_app.send_task('remote.task', queue=queue)
    broker_app.send_task('remote.task', queue=queue, ignore_result=False)
    broker_app.send_task('remote.task', queue=queue, ignore_result=True)
    assert [raw.headers['ignore_result'] for raw in take(reader, queue, 3)] == [
        None, False, True]


DEATH_HEADERS = {
    'x-death': [{'count': 1, 'reason': 'rejected', 'queue': 'work',
                 'exchange': '', 'routing-keys': ['work']}],
    'x-first-death-queue': 'work', 'x-first-death-reason': 'rejected',
    'x-first-death-exchange': '',
    'x-last-death-queue': 'work', 'x-last-death-reason': 'rejected',
    'x-last-death-exchange': '',
}


def test_retry_drops_dead_letter_headers(broker_app, add, reader, unique):
    queue = f'retry-{unique}'
    add.push_request(id='retried-id', args=(1,), kwargs={'y': 2}, retries=0,
                     called_directly=False, delivery_info={'exchange': '', 'routing_key': queue},
                     headers={**DEATH_HEADERS, 'x-custom': 'kept'})
    try:
        with pytest.raises(Retry):
            add.retry(countdown=0)
    finally:
        add.pop_request()
    raw = reader.get(queue)
    assert raw.headers['id'] == 'retried-id'
    assert raw.headers['retries'] == 1
    assert raw.headers['x-custom'] == 'kept'
    assert not [name for name in raw.headers if name.startswith('x-') and 'death' in name]

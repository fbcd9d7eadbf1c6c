"""Publish tasks through the app to RabbitMQ and Redis and check the raw message."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from kombu import Exchange, Queue

from celery import signals

V2_HEADER_NAMES = {
    'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index',
    'retries', 'timelimit', 'root_id', 'parent_id', 'argsrepr', 'kwargsrepr',
    'origin', 'ignore_result', 'replaced_task_nesting', 'stamped_headers', 'stamps',
}


@pytest.fixture
def add(broker_app):
    @broker_app.task(name='proj.add', shared=False)
    def add(x, y):
        return x + y
    return add


def is_amqp(app) -> bool:
    return app.conf.broker_url.startswith('amqp')


def test_plain_task(broker_app, add, reader, unique):
    queue = f'plain-{unique}'
    result = add.apply_async((2, 3), queue=queue, ignore_result=True)
    raw = reader.get(queue)
    headers = raw.headers
    assert V2_HEADER_NAMES <= set(headers)
    assert headers['lang'] == 'py'
    assert headers['task'] == 'proj.add'
    assert headers['id'] == result.id
    assert headers['root_id'] == result.id
    assert headers['parent_id'] is None
    assert headers['shadow'] is None
    assert headers['eta'] is None and headers['expires'] is None
    assert headers['group'] is None and headers['group_index'] is None
    assert headers['retries'] == 0
    assert headers['timelimit'] == [None, None]
    assert headers['argsrepr'] == '(2, 3)'
    assert headers['kwargsrepr'] == '{}'
    assert re.match(r'^gen\d+@.+', headers['origin'])
    assert headers['ignore_result'] is True
    assert headers['replaced_task_nesting'] == 0
    assert raw.content_type == 'application/json'
    assert raw.content_encoding == 'utf-8'
    assert raw.properties['correlation_id'] == result.id
    assert raw.properties['delivery_mode'] == 2
    # No priority unless one is given (kombu's Redis transport adds its default, 0).
    assert raw.properties.get('priority') == (None if is_amqp(broker_app) else 0)
    assert raw.delivery_info['routing_key'] == queue
    if is_amqp(broker_app):
        assert raw.delivery_info['exchange'] == ''
    assert raw.decode() == [[2, 3], {},
                            {'callbacks': None, 'errbacks': None, 'chain': None, 'chord': None}]


def test_send_task_by_name_with_workflow_fields(broker_app, reader, unique):
    queue = f'byname-{unique}'
    broker_app.send_task(
        'remote.task', args=[1], kwargs={'a': 'b'}, queue=queue, ignore_result=True,
        task_id='fixed-id', group_id='grp', group_index=2, retries=3,
        root_id='root', parent_id='parent', shadow='shown', time_limit=60,
        soft_time_limit=50, reply_to='replies', headers={'custom': 'value'},
        link=[{'task': 'cb', 'args': [], 'kwargs': {}, 'options': {},
               'subtask_type': None, 'immutable': False}])
    raw = reader.get(queue)
    headers = raw.headers
    assert headers['task'] == 'remote.task'
    assert headers['id'] == 'fixed-id'
    assert (headers['group'], headers['group_index']) == ('grp', 2)
    assert headers['retries'] == 3
    assert (headers['root_id'], headers['parent_id']) == ('root', 'parent')
    assert headers['shadow'] == 'shown'
    assert headers['timelimit'] == [60, 50]
    assert headers['kwargsrepr'] == "{'a': 'b'}"
    assert headers['custom'] == 'value'
    assert raw.properties['reply_to'] == 'replies'
    args, kwargs, embed = raw.decode()
    assert (args, kwargs) == ([1], {'a': 'b'})
    assert embed['callbacks'][0]['task'] == 'cb'


def test_countdown_and_expires(broker_app, add, reader, unique):
    queue = f'eta-{unique}'
    before = datetime.now(timezone.utc)
    add.apply_async((1, 1), queue=queue, countdown=30, expires=120, ignore_result=True)
    raw = reader.get(queue)
    eta = datetime.fromisoformat(raw.headers['eta'])
    expires = datetime.fromisoformat(raw.headers['expires'])
    assert eta.utcoffset() == timedelta(0)
    assert 25 < (eta - before).total_seconds() < 40
    assert 115 < (expires - before).total_seconds() < 130
    assert 115_000 <= int(raw.properties['expiration']) <= 120_000


def test_eta_datetime(broker_app, add, reader, unique):
    queue = f'etadt-{unique}'
    eta = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    add.apply_async((1, 1), queue=queue, eta=eta, ignore_result=True)
    assert datetime.fromisoformat(reader.get(queue).headers['eta']) == eta


def test_priority(broker_app, add, reader, unique):
    queue = f'prio-{unique}'
    add.apply_async((1, 1), queue=queue, priority=7, ignore_result=True)
    raw = reader.get(queue)
    assert raw.properties['priority'] == 7


def test_task_routes_to_named_queue(broker_app, add, reader, unique):
    queue = f'routed-{unique}'
    broker_app.conf.task_routes = {'proj.*': {'queue': queue}}
    add.apply_async((1, 1), ignore_result=True)
    raw = reader.get(queue)
    assert raw.headers['task'] == 'proj.add'
    assert raw.delivery_info['routing_key'] == queue


def test_topic_exchange_queue(broker_app, add, reader, unique):
    exchange = Exchange(f'topicx-{unique}', 'topic')
    queue = Queue(f'topic-{unique}', exchange, 'feed.#')
    broker_app.conf.task_queues = [queue]
    broker_app.conf.task_default_queue = queue.name
    add.apply_async((1, 1), routing_key='feed.import', ignore_result=True)
    raw = reader.get(queue.name, exchange, 'feed.#')
    reader.exchanges.append(exchange)
    assert raw.delivery_info['routing_key'] == 'feed.import'
    if is_amqp(broker_app):
        assert raw.delivery_info['exchange'] == exchange.name


def test_worker_direct_exchange(broker_app, reader, unique):
    node = f'w-{unique}@example.com'
    exchange = Exchange('C.dq2')
    reader.declare(Queue(f'{node}.dq2', exchange, node))
    broker_app.send_task('proj.add', (1, 1), exchange='C.dq2', routing_key=node,
                         ignore_result=True)
    raw = reader.get(f'{node}.dq2', exchange, node)
    assert raw.headers['task'] == 'proj.add'
    assert raw.delivery_info['routing_key'] == node
    reader.queues.append(Queue(f'default-{unique}'))


@pytest.mark.parametrize('serializer,content_type', [
    ('json', 'application/json'),
    ('pickle', 'application/x-python-serialize'),
    ('yaml', 'application/x-yaml'),
    ('msgpack', 'application/x-msgpack'),
])
def test_serializers(broker_app, reader, unique, serializer, content_type):
    queue = f'ser-{unique}'
    broker_app.send_task('proj.echo', (1, 'two'), {'three': 3.0}, queue=queue,
                         serializer=serializer, ignore_result=True)
    raw = reader.get(queue)
    assert raw.content_type == content_type
    args, kwargs, embed = raw.decode()
    assert list(args) == [1, 'two'] and kwargs == {'three': 3.0}
    assert embed['chain'] is None


def test_compression(broker_app, add, reader, unique):
    queue = f'zip-{unique}'
    add.apply_async(('x' * 1000, 1), queue=queue, compression='zlib', ignore_result=True)
    raw = reader.get(queue)
    assert raw.headers['compression'] == 'application/x-gzip'
    assert raw.decode()[0] == ['x' * 1000, 1]


def test_protocol_1(broker_app, add, reader, unique):
    queue = f'v1-{unique}'
    broker_app.conf.task_protocol = 1
    result = add.apply_async((4, 5), queue=queue, countdown=10, ignore_result=True)
    raw = reader.get(queue)
    body = raw.decode()
    assert body['task'] == 'proj.add' and body['id'] == result.id
    assert body['args'] == [4, 5] and body['kwargs'] == {}
    assert body['utc'] is True and body['eta'] is not None
    assert raw.properties['correlation_id'] == result.id


def test_before_publish_signal_mutates_headers(broker_app, add, reader, unique):
    queue = f'sig-{unique}'

    def stamp(sender=None, headers=None, **kwargs):
        if sender == 'proj.add':
            headers['stamped-by-signal'] = unique
    signals.before_task_publish.connect(stamp, weak=False)
    try:
        add.apply_async((1, 1), queue=queue, ignore_result=True)
    finally:
        signals.before_task_publish.disconnect(stamp)
    assert reader.get(queue).headers['stamped-by-signal'] == unique


@pytest.mark.parametrize('scheme', ['amqp://guest:guest@127.0.0.1:1//', 'redis://127.0.0.1:1/0'])
def test_unreachable_broker_raises_operational_error(unique, scheme):
    from kombu.exceptions import OperationalError

    from celery import Celery
    app = Celery(f'down-{unique}', broker=scheme, set_as_current=False)
    app.conf.broker_connection_timeout = 1
    try:
        with pytest.raises(OperationalError):
            app.send_task('proj.add', (1, 1), ignore_result=True, retry=True,
                          retry_policy={'max_retries': 1, 'interval_start': 0,
                                        'interval_step': 0, 'interval_max': 0})
    finally:
        app.close()

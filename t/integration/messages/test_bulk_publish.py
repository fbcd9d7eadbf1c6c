"""Pipelined publishing (groups, ``pipelined(producer)``) sends the same messages as ``delay()``."""
from __future__ import annotations

import re

import pytest
from kombu import Queue

from celery import group, transport
from celery.app.bulk import pipelined

#: Every task protocol 2 header.
V2_HEADER_NAMES = {
    'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index',
    'retries', 'timelimit', 'root_id', 'parent_id', 'argsrepr', 'kwargsrepr',
    'origin', 'ignore_result', 'replaced_task_nesting', 'stamped_headers', 'stamps',
}

#: Headers that name the task or its group, so differ between two sends.
PER_TASK_HEADERS = {'id', 'root_id', 'group', 'group_index', 'argsrepr'}

#: Broker-assigned delivery fields that differ between two messages.
PER_DELIVERY = {'delivery_tag', 'redelivered', 'consumer_tag', 'message_count'}


@pytest.fixture
def add(broker_app):
    @broker_app.task(name='proj.add', shared=False, ignore_result=True)
    def add(x, y):
        return x + y
    return add


def is_amqp(app) -> bool:
    return app.conf.broker_url.startswith('amqp')


def _read(reader, queue: str, count: int) -> list:
    """``count`` raw messages off ``queue``, through one consumer (it prefetches)."""
    raws = [reader.get(queue)]
    consumer = reader.consumers[-1]
    for _ in range(count - 1):
        raw = consumer.get(timeout=5)
        raw.ack()
        raws.append(raw)
    return raws


def _fields(raw) -> dict:
    """The message as the wire has it, without the per-task identifiers."""
    properties = dict(raw.properties)
    for name in ('correlation_id', 'delivery_tag', 'body_encoding', 'delivery_info',
                 'application_headers'):
        properties.pop(name, None)
    return {
        'headers': {k: v for k, v in raw.headers.items() if k not in PER_TASK_HEADERS},
        'properties': properties,
        'content_type': raw.content_type,
        'content_encoding': raw.content_encoding,
        'delivery_info': {k: v for k, v in raw.delivery_info.items()
                          if k not in PER_DELIVERY},
        'body': raw.decode()[1:],
    }


def _check_v2(raw, app, queue: str, index: int | None) -> None:
    headers = raw.headers
    assert set(headers) == V2_HEADER_NAMES
    assert headers['lang'] == 'py' and headers['task'] == 'proj.add'
    assert headers['root_id'] == headers['id'] == raw.properties['correlation_id']
    assert headers['parent_id'] is None and headers['shadow'] is None
    assert headers['eta'] is None and headers['expires'] is None
    assert headers['group_index'] == index
    assert (headers['group'] is None) == (index is None)
    assert headers['retries'] == 0 and headers['timelimit'] == [None, None]
    assert headers['argsrepr'] == f'({index or 0}, 1)' and headers['kwargsrepr'] == '{}'
    assert re.match(r'^gen\d+@.+', headers['origin'])
    assert headers['ignore_result'] is True and headers['replaced_task_nesting'] == 0
    assert headers['stamped_headers'] is None and headers['stamps'] == {}
    assert raw.content_type == 'application/json' and raw.content_encoding == 'utf-8'
    assert raw.properties['delivery_mode'] == 2
    assert raw.properties.get('priority') == (None if is_amqp(app) else 0)
    assert raw.delivery_info['routing_key'] == queue
    assert raw.decode() == [[index or 0, 1], {},
                            {'callbacks': None, 'errbacks': None, 'chain': None, 'chord': None}]


def test_group_members_match_single_publish(broker_app, add, reader, unique):
    queue = f'bulk-{unique}'
    reader.declare(Queue(queue))
    add.apply_async((0, 1), queue=queue)
    result = group(add.s(i, 1).set(queue=queue) for i in range(5)).apply_async()
    single, *members = _read(reader, queue, 6)
    _check_v2(single, broker_app, queue, None)
    assert [m.headers['id'] for m in members] == [r.id for r in result.results]
    for index, member in enumerate(members):
        _check_v2(member, broker_app, queue, index)
        assert member.headers['group'] == result.id
        assert _fields(member) == _fields(single) | {'body': _fields(member)['body']}


def test_pipelined_loop_matches_single_publish(broker_app, add, reader, unique):
    queue = f'loop-{unique}'
    reader.declare(Queue(queue))
    add.apply_async((0, 1), queue=queue)
    with broker_app.producer_or_acquire() as producer, pipelined(producer):
        sent = [add.apply_async((0, 1), queue=queue, producer=producer) for _ in range(300)]
    single, *raws = _read(reader, queue, 301)
    assert [raw.headers['id'] for raw in raws] == [r.id for r in sent]
    for raw in raws:
        _check_v2(raw, broker_app, queue, None)
        assert _fields(raw) == _fields(single)


#: kombu's stock py-amqp transport publishes a batch one message at a time
#: (CELERY_STOCK_TRANSPORTS=1, `make test-stock`): batching is the fast path's.
fast_path_only = pytest.mark.skipif(not transport.ENABLED, reason='stock transports do not batch')


@fast_path_only
def test_pipelined_batches_on_both_brokers(broker_app):
    with broker_app.producer_or_acquire() as producer:
        assert producer.supports_batch_publish


@fast_path_only
def test_error_inside_pipelined_drops_unsent(broker_app, add, reader, unique):
    queue = f'drop-{unique}'
    reader.declare(Queue(queue))
    with pytest.raises(KeyError):
        with broker_app.producer_or_acquire() as producer, pipelined(producer):
            add.apply_async((0, 1), queue=queue, producer=producer)
            raise KeyError('stop')
    add.apply_async((5, 1), queue=queue)
    assert reader.get(queue).decode()[0] == [5, 1]


def test_delay_inside_producer_block_uses_its_producer(broker_app, add, reader, unique):
    # With one pooled connection, a second producer would block for good.
    broker_app.conf.broker_pool_limit = 1
    broker_app.conf.broker_pool_acquire_timeout = 2
    queue = f'nested-{unique}'
    reader.declare(Queue(queue))
    with broker_app.producer_or_acquire() as producer:
        with broker_app.producer_or_acquire() as inner:
            assert inner is producer
        sent = add.apply_async((1, 1), queue=queue)
        sent_by_name = broker_app.send_task('proj.add', (2, 1), queue=queue)
    raws = _read(reader, queue, 2)
    assert [raw.headers['id'] for raw in raws] == [sent.id, sent_by_name.id]


@fast_path_only
def test_delay_loop_inside_pipelined_block_is_pipelined(broker_app, add, reader, unique):
    queue = f'loop-delay-{unique}'
    reader.declare(Queue(queue))
    with broker_app.producer_or_acquire() as producer, pipelined(producer):
        sent = [add.apply_async((index, 1), queue=queue) for index in range(50)]
        if is_amqp(broker_app):
            # Not written yet: the batch goes out when the block ends.
            with broker_app.connection_for_write() as connection:
                declared = Queue(queue)(connection.default_channel).queue_declare(passive=True)
            assert declared.message_count == 0
    raws = _read(reader, queue, 50)
    assert [raw.headers['id'] for raw in raws] == [result.id for result in sent]


def test_each_thread_acquires_its_own_producer(broker_app):
    import threading
    seen = {}
    with broker_app.producer_or_acquire() as mine:
        def other() -> None:
            with broker_app.producer_or_acquire() as theirs:
                seen['theirs'] = theirs
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
    assert seen['theirs'] is not mine

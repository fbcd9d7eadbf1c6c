"""Publishing straight to the channel puts on the wire exactly what ``Producer.publish`` does.

Each case publishes one task twice with the same id, once through
:func:`celery.app.publish_direct.publish_direct` and once through kombu's
``Producer.publish``, and compares the raw messages read off the broker: on
Redis the stored payload itself (its random delivery tag aside), on RabbitMQ
the body bytes, headers, properties and delivery info.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
import redis

import celery.app.publish as publish_module
from celery import transport
from t.integration.messages.conftest import is_amqp, queue_named, take

pytestmark = pytest.mark.skipif(not transport.ENABLED,
                                reason='the direct path is the owned transports\'')

ETA = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)

CASES = {
    'plain': {},
    'eta_and_expires': {'eta': ETA, 'expires': datetime(2032, 1, 1, tzinfo=timezone.utc)},
    'priority': {'priority': 5},
    'compression': {'compression': 'zlib'},
    'pickle': {'serializer': 'pickle'},
    'msgpack': {'serializer': 'msgpack'},
    'retry_policy': {'retry': True, 'retry_policy': {'max_retries': 2, 'interval_start': 0}},
    'no_retry': {'retry': False},
    'extra_headers': {'headers': {'x-trace': 'abc', 'n': 7}},
    'transient': {'delivery_mode': 1},
    'reply_to': {'reply_to': 'replies', 'correlation_id': 'corr-1'},
}


@pytest.fixture
def add(broker_app):
    @broker_app.task(name='direct.add', shared=False)
    def add(x, y=0):
        return x + y
    return add


@pytest.fixture
def paths(monkeypatch):
    """Switch between the direct path and kombu's; count direct publishes."""
    direct = []
    real = publish_module.publish_direct

    def counted(producer, body, publish_args):
        direct.append(body)
        return real(producer, body, publish_args)
    monkeypatch.setattr(publish_module, 'publish_direct', counted)

    original = publish_module.can_publish_direct

    def use(direct_path: bool) -> None:
        monkeypatch.setattr(publish_module, 'can_publish_direct',
                            original if direct_path else (lambda producer, args: False))
    use.direct = direct
    return use


def raw_redis_payloads(app, queue: str) -> list[str]:
    """Every payload stored for ``queue`` (all priority lists), delivery tags blanked."""
    client = redis.Redis.from_url(app.conf.broker_url)
    try:
        payloads = []
        for key in sorted(client.keys(f'{queue}*')):
            if client.type(key) == b'list':
                payloads.extend(client.lrange(key, 0, -1))
    finally:
        client.close()
    payloads = [re.sub(r'"delivery_tag": "[^"]*"', '"delivery_tag": ""', payload.decode())
                for payload in payloads]
    # The time left to ``expires`` (milliseconds): rounded to a minute.
    return [re.sub(r'"expiration": "(\d+)"',
                   lambda match: f'"expiration": "{_minutes(match.group(1))}"', payload)
            for payload in payloads]


def _minutes(milliseconds: str) -> int:
    return round(int(milliseconds) / 60_000)


def comparable(raw) -> tuple:
    """A RabbitMQ message's wire content (the per-channel delivery tag aside)."""
    properties = {key: value for key, value in raw.properties.items() if key != 'delivery_tag'}
    if 'expiration' in properties:   # the time left to ``expires``: rounded to a minute
        properties['expiration'] = _minutes(properties['expiration'])
    info = {key: value for key, value in raw.delivery_info.items()
            if key not in ('delivery_tag', 'redelivered')}
    return (raw.body, raw.content_type, raw.content_encoding,
            list(raw.headers.items()), sorted(properties.items()), sorted(info.items()))


@pytest.mark.parametrize('case', sorted(CASES))
def test_direct_and_kombu_publish_the_same_message(broker_app, add, reader, unique, paths,
                                                   case):
    queue = f'direct-{case}-{unique}'
    options = dict(CASES[case], queue=queue, task_id=f'id-{unique}', ignore_result=True)
    if is_amqp(broker_app):
        reader.declare(queue_named(queue))
    # kombu's first (it declares the queue: a declare always goes through kombu).
    for direct in (False, True):
        paths(direct)
        add.apply_async((2, 3), **dict(options))
    assert len(paths.direct) == 1, 'the direct path was not taken'
    if is_amqp(broker_app):
        first, second = take(reader, queue, 2)
        assert comparable(first) == comparable(second)
    else:
        first, second = raw_redis_payloads(broker_app, queue)
        assert first == second
        assert json.loads(first)['headers']['id'] == f'id-{unique}'
        reader.queues.append(queue_named(queue))


def test_confirm_publish_on_amqp(broker_url, unique, reader, paths):
    if not broker_url.startswith('amqp'):
        pytest.skip('publisher confirms are RabbitMQ\'s')
    from celery import Celery
    app = Celery(f'confirm-{unique}', broker=broker_url, set_as_current=False)
    app.conf.broker_transport_options = {'confirm_publish': True}
    queue = f'confirm-{unique}'
    reader.declare(queue_named(queue))
    try:
        for direct in (False, True):
            paths(direct)
            app.send_task('direct.add', (1,), queue=queue, task_id=f'id-{unique}',
                          ignore_result=True)
        assert len(paths.direct) == 1
        first, second = take(reader, queue, 2)
        assert comparable(first) == comparable(second)
    finally:
        app.close()


def test_open_batch_goes_through_kombu(broker_app, add, reader, unique, paths):
    queue = f'batch-{unique}'
    with broker_app.producer_or_acquire() as producer, producer.batch():
        add.apply_async((1, 1), queue=queue, producer=producer, ignore_result=True)
    assert paths.direct == []
    assert reader.get(queue).headers['task'] == 'direct.add'

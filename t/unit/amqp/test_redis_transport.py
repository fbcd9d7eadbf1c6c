"""celery.transport.redis: one reusable client per pool, chosen for redis:// brokers."""
from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Queue

from celery import Celery
from celery.transport import redis as owned_redis, transport_for


def test_redis_urls_get_the_owned_transport(monkeypatch):
    monkeypatch.setattr('celery.transport.ENABLED', True)
    assert transport_for('redis://localhost:6379/3') is owned_redis.Transport
    assert transport_for('rediss://localhost:6380/3') is owned_redis.Transport
    assert transport_for('redis://a;redis://b') is None
    assert transport_for('redis://a', transport='memory') is None


def test_stock_switch_leaves_redis_to_kombu(monkeypatch):
    monkeypatch.setattr('celery.transport.ENABLED', False)
    assert transport_for('redis://localhost:6379/3') is None


@pytest.mark.usefixtures('redis_url')
def test_channel_reuses_its_client_until_the_pool_changes(redis_url):
    with Connection(redis_url, transport=owned_redis.Transport) as connection:
        channel = connection.default_channel
        assert isinstance(channel, owned_redis.Channel)
        client = channel._create_client()
        assert channel._create_client() is client
        assert channel._create_client(asynchronous=True) is not client
        channel._pool = None   # what kombu does when it drops the pool
        assert channel._create_client() is not client


def test_app_publishes_through_the_owned_channel(redis_url, unique, monkeypatch):
    monkeypatch.setattr('celery.transport.ENABLED', True)
    app = Celery(unique, broker=redis_url, set_as_current=False)
    app.conf.task_default_queue = unique

    @app.task(name=f'{unique}.add', shared=False, ignore_result=True)
    def add(x: int, y: int) -> int:
        return x + y

    try:
        add.delay(1, 2)
        add.delay(3, 4)
        with app.producer_or_acquire() as producer:
            assert isinstance(producer.channel, owned_redis.Channel)
        with Connection(redis_url) as connection:
            queue = Queue(unique, Exchange(unique), unique)(connection.default_channel)
            bodies = []
            while (message := queue.get(no_ack=True)) is not None:
                bodies.append(message.decode()[0])
            assert bodies == [[1, 2], [3, 4]]
            queue.delete()
    finally:
        app.close()

"""The owned Redis transport batches its unacked bookkeeping without losing messages."""
from __future__ import annotations

import json

import pytest
import redis
from kombu import Connection, Queue

from celery import Celery
from t.integration.worker.conftest import RunningWorker, wait_for
from t.servers import REDIS_URL


def _unacked_for(client: redis.Redis, queue: str) -> list[str]:
    """Delivery tags of messages from ``queue`` still registered as unacked."""
    tags = []
    for tag, entry in client.hscan_iter('unacked'):
        _, _, routing_key = json.loads(entry)
        if routing_key == queue:
            tags.append(tag)
    return tags


@pytest.fixture
def client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL)


@pytest.fixture
def redis_app(unique: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr('celery.transport.ENABLED', True)   # whatever the environment says
    app = Celery(f'pipe{unique}', set_as_current=False, broker=REDIS_URL)
    app.conf.task_default_queue = f'q.pipe.{unique}'
    yield app
    with Connection(REDIS_URL) as conn:
        Queue(app.conf.task_default_queue, channel=conn.default_channel).delete()
    app.close()


def test_drain_leaves_nothing_unacked(redis_app: Celery, client: redis.Redis, unique: str):
    counter = f'pipe.count.{unique}'

    @redis_app.task(name='pipe.count', ignore_result=True)
    def count() -> None:
        redis.Redis.from_url(REDIS_URL).incr(counter)

    with redis_app.producer_or_acquire() as producer:
        for _ in range(300):
            count.apply_async(producer=producer)
    worker = RunningWorker(redis_app).start()
    try:
        assert wait_for(lambda: int(client.get(counter) or 0) >= 300, timeout=60)
        queue = redis_app.conf.task_default_queue
        assert wait_for(lambda: not _unacked_for(client, queue), timeout=10)
    finally:
        worker.stop()
        client.delete(counter)


def test_warm_stop_returns_prefetched_messages(redis_app: Celery, client: redis.Redis,
                                               unique: str):
    counter = f'pipe.slow.{unique}'

    @redis_app.task(name='pipe.slow', ignore_result=True, acks_late=True)
    def slow() -> None:
        import time
        time.sleep(0.2)
        redis.Redis.from_url(REDIS_URL).incr(counter)

    with redis_app.producer_or_acquire() as producer:
        for _ in range(30):
            slow.apply_async(producer=producer)
    worker = RunningWorker(redis_app).start()
    try:
        assert wait_for(lambda: int(client.get(counter) or 0) >= 4, timeout=30)
    finally:
        worker.stop()
    queue = redis_app.conf.task_default_queue
    done = int(client.get(counter) or 0)
    waiting = sum(client.llen(key) for key in client.scan_iter(f'{queue}*'))
    client.delete(counter)
    # Every message either ran once or is back in the queue: none lost, none stuck.
    assert done + waiting == 30
    assert not _unacked_for(client, queue)


def test_items_that_are_not_messages_are_reported_and_skipped(redis_app: Celery,
                                                              client: redis.Redis,
                                                              unique: str, caplog):
    counter = f'pipe.good.{unique}'

    @redis_app.task(name='pipe.good', ignore_result=True)
    def good() -> None:
        redis.Redis.from_url(REDIS_URL).incr(counter)

    queue = redis_app.conf.task_default_queue
    with redis_app.producer_or_acquire() as producer:
        good.apply_async(producer=producer)
        # Lists are consumed from the right: these sit behind the first task.
        client.lpush(queue, b'not json at all', b'{"no": "properties"}')
        for _ in range(5):
            good.apply_async(producer=producer)
    worker = RunningWorker(redis_app).start()
    try:
        assert wait_for(lambda: int(client.get(counter) or 0) >= 6, timeout=30)
    finally:
        worker.stop()
        client.delete(counter)
    assert 'not a kombu message' in caplog.text

"""What a new Consumer is set up with: identity, broker errors, heartbeat and loop."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from celery import Celery
from celery.utils.nodenames import gethostname
from celery.worker import loops
from celery.worker.consumer.consumer import Consumer


@pytest.fixture
def app():
    app = Celery('cons', broker='memory://', set_as_current=False)
    app.conf.broker_heartbeat = 30
    app.conf.broker_heartbeat_checkrate = 3.0

    @app.task(rate_limit='10/s')
    def limited():
        pass

    return app


def handle(request):
    pass


def make(app, **kwargs):
    kwargs.setdefault('pool', SimpleNamespace())
    return Consumer(handle, app=app, **kwargs)


def test_identity_and_broker_errors(app):
    consumer = make(app)
    assert consumer.hostname == gethostname()
    assert consumer.on_task_request is handle and consumer.on_task_message == set()
    assert consumer.strategies == {}
    assert consumer.connection_errors == consumer.conninfo.connection_errors
    assert consumer.channel_errors == consumer.conninfo.channel_errors
    assert consumer.amqheartbeat_rate == 3.0
    assert make(app, hostname='w9@x').hostname == 'w9@x'


def test_prefetch_and_rate_limits(app):
    consumer = make(app, initial_prefetch_count=8, prefetch_multiplier=4)
    assert (consumer.initial_prefetch_count, consumer.max_prefetch_count) == (8, 8)
    assert consumer.prefetch_multiplier == 4
    bucket = consumer.task_buckets[f'{__name__}.limited']
    assert bucket is not None and bucket.fill_rate == 10
    assert consumer.task_buckets['unknown'] is None


def test_without_event_loop_a_blocking_drain_cannot_send_heartbeats(app):
    consumer = make(app, amqheartbeat=10)
    assert consumer.amqheartbeat == 0
    assert consumer.loop is loops.synloop


def test_event_loop_sends_heartbeats_configured_or_given(app):
    hub = object()
    assert make(app, hub=hub).amqheartbeat == 30
    consumer = make(app, hub=hub, amqheartbeat=5)
    assert consumer.amqheartbeat == 5 and consumer.loop is loops.asynloop
    assert make(app, hub=hub, amqheartbeat=0).amqheartbeat == 0


def test_green_pool_sends_heartbeats_without_a_hub(app):
    consumer = make(app, pool=SimpleNamespace(is_green=True))
    assert consumer.amqheartbeat == 30 and consumer.loop is loops.synloop

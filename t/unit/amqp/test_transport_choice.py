"""celery.transport: which transport classes an app's connections use, and the switch back."""
from __future__ import annotations

import pytest
from kombu.transport import pyamqp as stock_pyamqp, redis as stock_redis

from celery import Celery
from celery.app.broker_connection import BrokerConnection
from celery.transport import (
    connection_class,
    fast_path_enabled,
    owned_transport,
    pyamqp,
    pyamqp_consumer,
    redis,
    transport_for,
)
from celery.transport.connection import OwnedTransportConnection

AMQP = 'amqp://guest:guest@127.0.0.1:5672//'


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr('celery.transport.ENABLED', True)


@pytest.fixture
def app(fast: None):
    app = Celery('choice', broker=AMQP, set_as_current=False)
    yield app
    app.close()


def test_schemes_with_an_owned_transport(fast: None):
    assert owned_transport('amqp') is owned_transport('pyamqp') is pyamqp.Transport
    assert owned_transport('amqp', reading=True) is pyamqp_consumer.Transport
    assert owned_transport('redis') is owned_transport('rediss') is redis.Transport
    assert owned_transport('sqs') is owned_transport('librabbitmq') is None
    assert transport_for(AMQP, reading=True) is pyamqp_consumer.Transport


def test_fast_path_is_on_by_default(app: Celery):
    assert fast_path_enabled(app)
    assert fast_path_enabled()


def test_transport_option_switches_one_app_back(app: Celery):
    app.conf.broker_transport_options = {'fast_path': False}
    assert not fast_path_enabled(app)
    assert connection_class(app) is BrokerConnection
    assert type(app.connection_for_read().transport) is stock_pyamqp.Transport
    assert type(app.connection_for_write().transport) is stock_pyamqp.Transport
    with app.producer_or_acquire() as producer:
        assert type(producer.connection.transport) is stock_pyamqp.Transport


def test_a_connection_can_switch_itself_back(app: Celery):
    assert not fast_path_enabled(app, {'fast_path': False})
    conn = app.connection_for_read(transport_options={'fast_path': False})
    assert type(conn.transport) is stock_pyamqp.Transport


def test_environment_switches_the_process_back(app: Celery, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr('celery.transport.ENABLED', False)
    assert not fast_path_enabled(app)
    assert transport_for(AMQP) is None
    assert type(app.connection_for_read().transport) is stock_pyamqp.Transport


def test_app_connections_use_owned_classes_and_still_name_the_scheme(app: Celery):
    reading, writing = app.connection_for_read(), app.connection_for_write()
    assert isinstance(reading, OwnedTransportConnection)
    assert type(reading.transport) is pyamqp_consumer.Transport
    assert type(writing.transport) is pyamqp.Transport
    # What inspect stats, the banner and failover see is stock kombu's.
    assert reading.transport_cls == 'amqp'
    assert reading.info()['transport'] == 'amqp'
    assert reading.as_uri() == 'amqp://guest:**@127.0.0.1:5672//'
    assert type(reading.clone().transport) is pyamqp_consumer.Transport


def test_failover_urls_keep_the_owned_transport(app: Celery):
    conn = app.connection_for_read('amqp://a:5672//;redis://b:6379/10')
    assert type(conn.transport) is pyamqp_consumer.Transport
    conn.switch('redis://b:6379/10')
    redis_reading = owned_transport('redis', reading=True) or stock_redis.Transport
    assert type(conn.transport) is redis_reading
    conn.switch('amqp://c:5672//')
    assert type(conn.transport) is pyamqp_consumer.Transport


def test_the_producer_pool_publishes_on_the_owned_transport(app: Celery):
    with app.producer_or_acquire() as producer:
        assert type(producer.connection.transport) is pyamqp.Transport


def test_other_transports_are_kombus(fast: None):
    app = Celery('mem', broker='memory://', set_as_current=False)
    try:
        conn = app.connection_for_read()
        assert conn.transport_cls == 'memory'
        assert type(conn.transport).__module__ == 'kombu.transport.memory'
    finally:
        app.close()


def test_tls_urls_get_the_owned_tls_transports(app: Celery):
    url = 'amqps://guest:guest@127.0.0.1:5671//'
    reading, writing = app.connection_for_read(url), app.connection_for_write(url)
    assert type(reading.transport) is pyamqp_consumer.SSLTransport
    assert type(writing.transport) is pyamqp.SSLTransport
    assert isinstance(reading.transport, stock_pyamqp.SSLTransport)
    # kombu's TLS transport turns TLS on for the connection, as with stock kombu.
    assert reading.ssl is True and writing.ssl is True
    assert reading.transport_cls == 'amqps'

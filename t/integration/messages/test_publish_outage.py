"""The client's pooled producers survive the broker connection being cut."""
from __future__ import annotations

import threading

import pytest
from billiard import get_context
from kombu import Exchange, Queue
from kombu.utils.url import parse_url

from t.integration.proxy import TcpProxy


def task_names(reader, queue_name: str, count: int) -> set[str]:
    """Names of the next ``count`` task messages on ``queue_name``."""
    consumer = reader.connection.SimpleQueue(queue_name)
    try:
        messages = [consumer.get(timeout=5) for _ in range(count)]
    finally:
        consumer.close()
    for message in messages:
        message.ack()
    return {message.headers['task'] for message in messages}


@pytest.fixture
def proxied_app(broker_url, unique):
    """An app whose broker connections go through a loopback proxy that tests can cut."""
    from celery import Celery
    parts = parse_url(broker_url)
    proxy = TcpProxy(parts['port'])
    proxy.up()
    scheme = broker_url.split('://', 1)[0]
    url = broker_url.replace(f"127.0.0.1:{parts['port']}", f'127.0.0.1:{proxy.port}')
    assert url.startswith(scheme) and str(proxy.port) in url
    app = Celery(f'outage-{unique}', set_as_current=False, broker=url)
    app.conf.task_default_queue = f'outage-{unique}'
    app.conf.broker_pool_limit = 1
    # Without publisher confirms, an AMQP publish written just after the
    # connection was cut is lost without an error (as with any AMQP client).
    app.conf.broker_transport_options = {'confirm_publish': True}
    app.conf.task_publish_retry_policy = {'max_retries': 20, 'interval_start': 0.1,
                                          'interval_step': 0.1, 'interval_max': 0.2}
    yield app, proxy
    proxy.down()
    app.close()


def test_publish_retries_across_a_cut_connection(proxied_app, reader, unique):
    app, proxy = proxied_app
    reader.declare(Queue(f'outage-{unique}', Exchange(f'outage-{unique}'), f'outage-{unique}'))
    app.send_task('outage.before', ignore_result=True)
    proxy.down()
    restore = threading.Timer(0.5, proxy.up)
    restore.start()
    app.send_task('outage.after', ignore_result=True)   # retried until the proxy is back
    restore.join()
    names = task_names(reader, f'outage-{unique}', 2)
    assert names == {'outage.before', 'outage.after'}


def test_producer_reconnects_after_a_failed_publish_without_retry(proxied_app, reader,
                                                                  unique):
    app, proxy = proxied_app
    reader.declare(Queue(f'outage-{unique}', Exchange(f'outage-{unique}'), f'outage-{unique}'))
    app.send_task('outage.first', ignore_result=True)
    proxy.down()
    with pytest.raises(app.connection_for_write().connection_errors + (OSError,)):
        app.send_task('outage.lost', ignore_result=True, retry=False)
    proxy.up()
    app.send_task('outage.again', ignore_result=True, retry=False)
    names = task_names(reader, f'outage-{unique}', 2)
    assert names == {'outage.first', 'outage.again'}


def test_a_forked_child_leaves_the_parents_connections_alone(broker_url, reader, unique):
    from celery import Celery
    queue = f'fork-{unique}'
    app = Celery(f'fork-{unique}', set_as_current=False, broker=broker_url)
    app.conf.task_default_queue = queue
    app.conf.broker_transport_options = {'confirm_publish': True}
    reader.declare(Queue(queue, Exchange(queue), queue))
    try:
        app.send_task('fork.before', ignore_result=True, retry=False)
        # A child forked as billiard forks pool processes (its after-fork
        # hooks run), doing nothing else.
        child = get_context('fork').Process(target=int)
        child.start()
        child.join(10)
        assert child.exitcode == 0
        # Without retry: the pooled connection must still be usable.
        app.send_task('fork.after', ignore_result=True, retry=False)
        assert task_names(reader, queue, 2) == {'fork.before', 'fork.after'}
    finally:
        app.close()

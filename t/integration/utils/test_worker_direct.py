"""worker_direct queues route through the real brokers."""
from __future__ import annotations

import time

import pytest

from celery.utils.nodenames import worker_direct


def poll(queue, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = queue.get(no_ack=True)
        if message is not None:
            return message
        time.sleep(0.05)
    return None


@pytest.mark.parametrize('url_fixture', ['amqp_url', 'redis_url'])
def test_message_reaches_worker_direct_queue(request, unique, url_fixture):
    from kombu import Connection
    url = request.getfixturevalue(url_fixture)
    nodename = f'w-{unique}@test-host'
    queue = worker_direct(nodename)
    with Connection(url, connect_timeout=5) as conn:
        bound = queue(conn.default_channel)
        bound.declare()
        try:
            with conn.Producer() as producer:
                producer.publish({'hello': unique}, exchange=queue.exchange,
                                 routing_key=nodename, declare=[queue], serializer='json')
            message = poll(bound, timeout=5.0)
            assert message is not None
            assert message.payload == {'hello': unique}
        finally:
            bound.delete()

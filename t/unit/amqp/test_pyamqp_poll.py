"""celery.transport.pyamqp: the per-publish event poll skips the read only when nothing waits."""
from __future__ import annotations

import socket
import time

import pytest
from kombu import Connection, Exchange, Queue

from celery.transport.pyamqp import Transport


@pytest.fixture
def connection(amqp_url):
    with Connection(amqp_url, transport=Transport) as connection:
        connection.connect()
        yield connection


def test_idle_connection_times_out_like_py_amqp(connection):
    raw = connection.connection
    assert raw.nothing_to_read()
    with pytest.raises(socket.timeout):
        raw.drain_events(timeout=0)


def test_waiting_frames_are_still_read(connection, unique):
    queue = Queue(unique, Exchange(unique), unique, auto_delete=True)
    received = []
    with connection.Consumer(queues=[queue], callbacks=[
            lambda body, message: received.append(body)], accept=['json']):
        connection.Producer().publish({'n': 1}, exchange=queue.exchange,
                                      routing_key=unique, serializer='json')
        raw = connection.connection
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            try:
                raw.drain_events(timeout=0)
            except TimeoutError:
                time.sleep(0.01)
    assert received == [{'n': 1}]


"""The green pidbox: its own connection, drained until the worker stops."""
from __future__ import annotations

import socket

from celery.worker.pidbox import gPidbox


class FakeChannel:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeListener:
    def __init__(self, channel: FakeChannel) -> None:
        self.channel = channel
        self.consuming = False

    def consume(self) -> None:
        self.consuming = True


class FakeNode:
    def __init__(self) -> None:
        self.channel = None

    def listen(self, callback):
        return FakeListener(self.channel)


class FakeConnection:
    def __init__(self, script) -> None:
        self.script = list(script)
        self.channels: list[FakeChannel] = []
        self.drains = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.released = True

    def as_uri(self) -> str:
        return 'amqp://guest:**@localhost:5672//'

    def channel(self) -> FakeChannel:
        self.channels.append(FakeChannel(len(self.channels)))
        return self.channels[-1]

    def drain_events(self, timeout: float) -> None:
        assert timeout == 1.0
        self.drains += 1
        self.script.pop(0)()


class FakeConsumer:
    connection_errors = (ConnectionError,)
    channel_errors = ()

    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self._read = connection

    def connection_for_read(self) -> FakeConnection:
        return self._read


def make_pidbox() -> gPidbox:
    pidbox = gPidbox.__new__(gPidbox)
    pidbox.node = FakeNode()
    return pidbox


def test_loop_listens_resets_on_request_and_stops_on_shutdown():
    pidbox = make_pidbox()

    def timeout():
        raise socket.timeout()

    script = [timeout, pidbox.reset, lambda: None, lambda: pidbox._node_shutdown.set()]
    connection = FakeConnection(script)
    pidbox.loop(FakeConsumer(connection))
    assert connection.drains == 4
    first, second = connection.channels
    assert first.closed and not second.closed  # one reset: the first channel replaced
    assert pidbox.consumer.channel is second and pidbox.consumer.consuming
    assert pidbox._node_stopped.is_set()


def test_loop_ends_when_the_consumer_loses_its_connection():
    pidbox = make_pidbox()
    consumer = FakeConsumer(None)

    def lose_connection():
        consumer.connection = None

    connection = FakeConnection([lose_connection])
    consumer._read = connection
    consumer.connection = connection
    pidbox.loop(consumer)
    assert connection.drains == 1 and len(connection.channels) == 1


def test_on_stop_waits_for_the_loop_to_finish():
    pidbox = make_pidbox()
    connection = FakeConnection([])
    consumer = FakeConsumer(connection)
    consumer.connection = None  # the loop sets up, then exits at once
    pidbox.loop(consumer)
    pidbox.on_stop()
    assert pidbox._node_stopped is None and pidbox._node_shutdown is None

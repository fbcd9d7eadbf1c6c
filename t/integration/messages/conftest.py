"""Fixtures: an app on a real broker and a reader for raw task messages."""
from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Queue

#: Let the tests decode every serializer the producer may use.
ACCEPT_ALL = {'application/json', 'application/x-python-serialize',
              'application/x-yaml', 'application/x-msgpack'}


@pytest.fixture
def broker_app(broker_url, unique):
    """An app publishing to a real broker, with its default queue renamed per test."""
    from celery import Celery
    app = Celery(f'msg-{unique}', set_as_current=False, broker=broker_url)
    app.conf.task_default_queue = f'default-{unique}'
    app.conf.broker_pool_limit = 2
    yield app
    app.close()


class RawReader:
    """Reads raw kombu messages; deletes the queues (and exchanges named after them) after."""

    def __init__(self, url: str) -> None:
        self.connection = Connection(url)
        self.queues: list[Queue] = []
        self.consumers: list = []
        self.exchanges: list[Exchange] = []

    def declare(self, queue: Queue) -> None:
        """Declare ``queue`` now, so messages published before :meth:`get` are kept."""
        self.queues.append(queue)
        queue(self.connection.default_channel).declare()

    def get(self, queue_name: str, exchange: Exchange | None = None,
            routing_key: str | None = None, timeout: float = 5.0):
        """Return the next raw message on ``queue_name`` (acked)."""
        queue = Queue(queue_name, exchange or Exchange(queue_name),
                      routing_key or queue_name)
        self.queues.append(queue)
        consumer = self.connection.SimpleQueue(queue, accept=ACCEPT_ALL)
        self.consumers.append(consumer)
        message = consumer.get(timeout=timeout)
        message.ack()
        return message

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.close()
        channel = self.connection.default_channel
        for queue in {queue.name: queue for queue in self.queues}.values():
            queue(channel).delete()
            if queue.exchange.name == queue.name:
                self.exchanges.append(queue.exchange)
        for exchange in {exchange.name: exchange for exchange in self.exchanges}.values():
            exchange(channel).delete()
        self.connection.release()


@pytest.fixture
def reader(broker_url):
    reader = RawReader(broker_url)
    yield reader
    reader.close()


def queue_named(name: str) -> Queue:
    """Queue ``name`` on a direct exchange of the same name, as task queues are declared."""
    return Queue(name, Exchange(name), name)


def take(reader: RawReader, queue_name: str, count: int) -> list:
    """The next ``count`` raw messages on ``queue_name``, through one consumer."""
    queue = queue_named(queue_name)
    reader.queues.append(queue)
    consumer = reader.connection.SimpleQueue(queue, accept=ACCEPT_ALL)
    reader.consumers.append(consumer)
    messages = [consumer.get(timeout=5.0) for _ in range(count)]
    for message in messages:
        message.ack()
    return messages


def is_amqp(app) -> bool:
    """Whether ``app`` publishes to RabbitMQ."""
    return app.conf.broker_url.startswith('amqp')

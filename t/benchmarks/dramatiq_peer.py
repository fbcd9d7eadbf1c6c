"""Dramatiq beside us in the benchmarks: its broker, actor and clean-up on our test servers.

Imported only where dramatiq is installed (``pip install -r requirements/bench.txt``);
``bench_publish.py`` and ``bench_roundtrip.py`` skip Dramatiq with a note when it is not.
With ``BENCH_DRAMATIQ_BROKER`` set this is also the module a worker loads
(``dramatiq t.benchmarks.dramatiq_peer:broker``), as ``bench_roundtrip.py`` starts it.
Dramatiq runs with its defaults (middleware, pika without publisher confirms,
Redis consumer polling), as a user who installs it gets it.
"""
from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend


def pika_url(url: str) -> str:
    """A kombu ``amqp://`` URL as pika reads it (pika takes kombu's ``//`` for vhost ``''``)."""
    parts = urlsplit(url)
    vhost = parts.path[1:] or '/'
    return urlunsplit(('amqp', parts.netloc, '/' + quote(vhost, safe=''), parts.query, ''))


def make_broker(url: str, namespace: str, results_url: str | None = None) -> dramatiq.Broker:
    """A Dramatiq broker on ``url`` (Redis keys under ``namespace``), results to ``results_url``."""
    broker: dramatiq.Broker
    if url.startswith('redis'):
        broker = RedisBroker(url=url, namespace=namespace)
    else:
        broker = RabbitmqBroker(url=pika_url(url))
    if results_url is not None:
        # Prefixed keys so that clean_up can find them.
        backend = RedisBackend(url=results_url, namespace=f'{namespace}-results',
                               use_namespace_prefix_keys=True)
        broker.add_middleware(Results(backend=backend))
    return broker


def results_backend(broker: dramatiq.Broker) -> RedisBackend:
    """The result backend ``make_broker`` gave ``broker``."""
    backend: RedisBackend = next(m.backend for m in broker.middleware if isinstance(m, Results))
    return backend


def make_actor(broker: dramatiq.Broker, queue: str,
               store_results: bool = False) -> dramatiq.Actor[Any, int]:
    """The ``bench.add`` actor on ``queue`` (Dramatiq's twin of our ``bench.add`` task)."""
    def add(x: int, y: int) -> int:
        return x + y
    # store_results is an option of the Results middleware: only valid where it is installed.
    options: dict[str, Any] = {'store_results': True} if store_results else {}
    return dramatiq.actor(broker=broker, actor_name='bench.add', queue_name=queue, **options)(add)


def clean_up(broker: dramatiq.Broker, queue: str, namespace: str) -> None:
    """Delete what ``queue`` left on the broker and in the result backend, then close ``broker``."""
    if isinstance(broker, RedisBroker):
        # Queues, acks and heartbeats all live under the run's own namespace.
        for key in broker.client.scan_iter(f'{namespace}:*'):
            broker.client.delete(key)
    elif isinstance(broker, RabbitmqBroker):
        for name in (queue, f'{queue}.DQ', f'{queue}.XQ'):
            broker.channel.queue_delete(name)
    for middleware in broker.middleware:
        if isinstance(middleware, Results):
            client = middleware.backend.client
            for key in client.scan_iter(f'{namespace}-results:*'):
                client.delete(key)
    broker.close()


if os.environ.get('BENCH_DRAMATIQ_BROKER'):
    # The worker's side: ``dramatiq t.benchmarks.dramatiq_peer:broker``.
    broker = make_broker(os.environ['BENCH_DRAMATIQ_BROKER'],
                         os.environ['BENCH_DRAMATIQ_NAMESPACE'],
                         os.environ['BENCH_DRAMATIQ_RESULTS'])
    add = make_actor(broker, os.environ['BENCH_DRAMATIQ_QUEUE'], store_results=True)

"""Publish rate: Celery ``apply_async`` vs. a bare kombu producer (same message) and Dramatiq.

Usage::

    python t/benchmarks/bench_publish.py [-n 20000] [--broker amqp|redis|both] [--rounds 3]

For each broker it prints tasks/s and CPU microseconds per task for

* ``kombu``: ``Producer.publish`` of the same body and headers (the floor),
* ``amqp``: ``app.amqp.create_task_message`` + ``send_task_message``,
* ``apply_async``: the whole client path (``Task.apply_async``),
* ``dramatiq``: a Dramatiq actor's ``send()`` (``RabbitmqBroker`` or
  ``RedisBroker`` on the same server, its defaults; its own message, a JSON
  body of about 200 bytes and no headers, where ours is about 500 bytes),
  where Dramatiq is installed (``requirements/bench.txt``; skipped with a
  note otherwise),

and the rate of each as a share of bare kombu's and of Dramatiq's; then a
group of 1,000 tasks (published pipelined) against 1,000 ``delay()`` calls,
wall time ratio, and the ``wire`` ceiling: 1,000 copies of one task message
sent as cheaply as the client library can (py-amqp's ``basic_publish`` of a
prepared message, pipelined; one Redis ``LPUSH``), which bounds how much
faster than ``delay()`` any group can be on the machine.  The publishers run
in turn for ``--rounds`` rounds (the machine's noise hits all of them alike)
and the median round is printed.  Queues are unique per run, purged after
each publisher (a broker slows down as a queue grows) and deleted afterwards.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..'))

import amqp  # noqa: E402
from amqp import Message as amqp_message  # noqa: E402
from kombu import Connection, Exchange, Queue  # noqa: E402
from kombu.serialization import dumps  # noqa: E402

from celery import Celery, Task, group  # noqa: E402
from t.benchmarks.live_run import live_run  # noqa: E402
from t.servers import AMQP_URL, REDIS_URL  # noqa: E402

try:
    from t.benchmarks import dramatiq_peer
except ModuleNotFoundError as exc:   # requirements/bench.txt not installed
    dramatiq_peer = None  # type: ignore[assignment]
    DRAMATIQ_SKIPPED = f'dramatiq skipped: {exc.name} is not installed (pip install -r requirements/bench.txt)'

BROKERS = {'amqp': AMQP_URL, 'redis': REDIS_URL}


def measure(n: int, publish_one: Callable[[int], object]) -> tuple[float, float]:
    """Return (messages per second, CPU microseconds per message)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        publish_one(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return n / wall, cpu / n * 1e6


def median_round(figures: list[tuple[float, float]]) -> tuple[float, float]:
    """The round with the median rate."""
    rate = statistics.median_low(rate for rate, _ in figures)
    return next(figure for figure in figures if figure[0] == rate)


def bench_broker(label: str, url: str, n: int, rounds_count: int) -> None:
    """Run the publishers against one broker and print the figures."""
    tag = uuid.uuid4().hex[:8]
    qname = f'bench-publish-{tag}'
    app = Celery(f'bench-{tag}', broker=url, set_as_current=False)
    app.conf.task_default_queue = qname
    app.conf.broker_pool_limit = 1

    @app.task(name='bench.add', ignore_result=True, shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    amqp = app.amqp
    queue = amqp.queues[qname]
    sample = amqp.create_task_message(str(uuid.uuid4()), 'bench.add', (1, 1), {})
    headers, body = dict(sample.headers), sample.body

    rounds: dict[str, list[tuple[float, float]]] = {'kombu': [], 'amqp': [], 'apply_async': []}
    with Connection(url) as conn:
        producer = conn.Producer()
        producer.publish(body, exchange='', routing_key=qname, declare=[queue],
                         headers=headers, serializer='json')
        send = amqp.send_task_message
        create = amqp.create_task_message

        def kombu_publish(i: int) -> None:
            producer.publish(body, exchange='', routing_key=qname, headers=headers,
                             serializer='json', correlation_id='x', reply_to='')

        def amqp_publisher(celery_producer: object) -> Callable[[int], None]:
            def amqp_publish(i: int) -> None:
                message = create(str(uuid.uuid4()), 'bench.add', (i, i), {},
                                 ignore_result=True)
                send(celery_producer, 'bench.add', message, queue=queue)
            return amqp_publish

        def apply_async(i: int) -> None:
            add.apply_async((i, i))

        peer = DramatiqPublisher(url, tag) if dramatiq_peer is not None else None
        if peer is not None:
            rounds['dramatiq'] = []
        try:
            purge = queue(conn.default_channel).purge
            for _ in range(rounds_count):
                # Each publisher on an empty queue: a broker slows down as its queue grows.
                rounds['kombu'].append(measure(n, kombu_publish))
                purge()
                # One pooled connection: the message layer holds it only while it runs.
                with app.producer_or_acquire() as celery_producer:
                    rounds['amqp'].append(measure(n, amqp_publisher(celery_producer)))
                purge()
                rounds['apply_async'].append(measure(n, apply_async))
                purge()
                if peer is not None:
                    rounds['dramatiq'].append(measure(n, peer.send))
                    peer.purge()
        finally:
            if peer is not None:
                peer.close()
    results = {name: median_round(figures) for name, figures in rounds.items()}

    floor = results['kombu'][0]
    # Dramatiq's share is an added column: the first ones read as before it.
    peer_rate = results['dramatiq'][0] if 'dramatiq' in results else None
    for name, (rate, cpu_us) in results.items():
        versus_peer = f' {rate / peer_rate:>7.0%} of dramatiq' if peer_rate else ''
        print(f'{label:<6} {name:<12} {rate:>10,.0f} tasks/s {cpu_us:>8.1f} CPU µs/task '
              f'{rate / floor:>7.0%} of kombu{versus_peer}')
    if peer is None:
        print(f'{label:<6} {DRAMATIQ_SKIPPED}')

    bench_group(label, add, rounds_count)
    with Connection(url) as conn:
        bound = Queue(qname, Exchange(qname), qname)(conn.default_channel)
        # Redis deletes only the bindings its channel knows of: declare them first.
        bound.declare()
        bound.delete()
    app.close()


class DramatiqPublisher:
    """A Dramatiq actor's ``send()`` on its own queue of the broker at ``url``."""

    def __init__(self, url: str, tag: str) -> None:
        # Dramatiq declares its queues with arguments of its own: it cannot share ours.
        self.queue = self.namespace = f'bench-dramatiq-{tag}'
        self.broker = dramatiq_peer.make_broker(url, self.namespace)
        self.actor = dramatiq_peer.make_actor(self.broker, self.queue)
        self.actor.send(0, 0)   # connect and declare outside the timed rounds
        self.purge()

    def send(self, i: int) -> None:
        """Publish one ``bench.add`` message."""
        self.actor.send(i, i)

    def purge(self) -> None:
        """Drop the messages published so far."""
        self.broker.flush(self.queue)

    def close(self) -> None:
        """Delete the queue and close the broker's connections."""
        dramatiq_peer.clean_up(self.broker, self.queue, self.namespace)


def bench_group(label: str, task: Task, rounds_count: int, size: int = 1000) -> None:
    """Print how much faster a group of ``size`` publishes than ``size`` delay() calls.

    Beside it, the broker's own ceiling for ``size`` such messages sent in one
    go (see :func:`wire_publisher`): a group can be at most that much faster
    than ``delay()`` on this machine, whatever the client does.
    """
    app = task.app
    queue = app.amqp.queues[app.conf.task_default_queue]
    delays, groups, wire = [], [], []
    with app.connection_for_write() as conn:
        purge = queue(conn.default_channel).purge
        send_wire = wire_publisher(label, conn, task, size)
        for _ in range(rounds_count):
            # Each round on an empty queue: a broker slows down as its queue grows.
            delays.append(measure(size, lambda i: task.delay(i, i)))
            purge()
            groups.append(measure(1, lambda _: group(task.s(i, i) for i in range(size)).apply_async()))
            purge()
            wire.append(measure(1, send_wire))
            purge()
    delay_rate, delay_cpu = median_round(delays)
    group_rate, group_cpu = median_round(groups)
    group_rate, group_cpu = group_rate * size, group_cpu / size
    wire_rate = median_round(wire)[0] * size
    print(f'{label:<6} {"group/delay":<12} {group_rate:>10,.0f} tasks/s {group_cpu:>8.1f} CPU µs/task '
          f'{group_rate / delay_rate:>7.2f}x delay() ({delay_rate:,.0f}/s, {delay_cpu:.1f} µs)')
    print(f'{label:<6} {"wire":<12} {wire_rate:>10,.0f} tasks/s  the broker\'s ceiling: a group '
          f'can be at most {wire_rate / delay_rate:.2f}x delay() here; ours reaches '
          f'{group_rate / wire_rate:.0%} of it')


def wire_publisher(label: str, conn: Connection, task: Task, size: int) -> Callable[[int], None]:
    """Return a callable sending ``size`` copies of one task message as cheaply as the client library can.

    AMQP: py-amqp's ``basic_publish`` of one prepared persistent message,
    pipelined (no client work per message beyond the frames).  Redis: the
    message's stored payload pushed ``size`` times in one ``LPUSH``.
    """
    queue_name = task.app.conf.task_default_queue
    channel = conn.default_channel
    if label == 'redis':
        scratch = f'{queue_name}-wire'
        task.app.send_task(task.name, (1, 1), queue=Queue(scratch, Exchange(scratch), scratch))
        payload = channel.client.rpop(scratch)
        channel.client.delete(scratch, f'_kombu.binding.{scratch}')
        payloads = [payload] * size
        return lambda _: channel.client.lpush(queue_name, *payloads)
    message = task.app.amqp.create_task_message(str(uuid.uuid4()), task.name, (1, 1), {})
    _, _, body = dumps(message.body, serializer='json')
    raw = amqp_message(body, headers=dict(message.headers), delivery_mode=2,
                       content_type='application/json', content_encoding='utf-8', priority=0,
                       correlation_id='x', reply_to='')
    # py-amqp itself (not our transport), on a connection of its own.
    client = amqp.Connection(f'{conn.hostname}:{conn.port}', userid=conn.userid,
                             password=conn.password, virtual_host=conn.virtual_host)
    client.connect()
    wire_channel = client.channel()

    def send(_: int) -> None:
        for _ in range(size):
            wire_channel.basic_publish(raw, exchange='', routing_key=queue_name)
        wire_channel.basic_qos(0, 0, False)   # a round trip: every message reached the broker
    return send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', type=int, default=20_000, help='messages per publisher')
    parser.add_argument('--broker', choices=['amqp', 'redis', 'both'], default='both')
    parser.add_argument('--rounds', type=int, default=3, help='rounds of the publishers')
    options = parser.parse_args()
    labels = ['amqp', 'redis'] if options.broker == 'both' else [options.broker]
    with live_run():
        for label in labels:
            bench_broker(label, BROKERS[label], options.n, options.rounds)


if __name__ == '__main__':
    main()

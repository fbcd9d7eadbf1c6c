"""Publish rate: Celery ``apply_async`` vs. a bare kombu producer, same message size.

Usage::

    python t/benchmarks/bench_publish.py [-n 20000] [--broker amqp|redis|both]

For each broker it prints tasks/s and CPU microseconds per task for

* ``kombu``: ``Producer.publish`` of the same body and headers (the floor),
* ``amqp``: ``app.amqp.create_task_message`` + ``send_task_message``,
* ``apply_async``: the whole client path (``Task.apply_async``),

and the ratio of each to bare kombu; then a group of 1,000 tasks (published
pipelined) against 1,000 ``delay()`` calls, wall time ratio.  The three run in turn for ``--rounds``
rounds (the machine's noise hits all three alike) and the median round is
printed.  Queues are unique per run, purged between rounds and deleted
afterwards.
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

from kombu import Connection, Exchange, Queue  # noqa: E402

from celery import Celery, group  # noqa: E402
from t.servers import AMQP_URL, REDIS_URL  # noqa: E402

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
    """Run the three publishers against one broker and print the figures."""
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

        for _ in range(rounds_count):
            rounds['kombu'].append(measure(n, kombu_publish))
            # One pooled connection: the message layer holds it only while it runs.
            with app.producer_or_acquire() as celery_producer:
                rounds['amqp'].append(measure(n, amqp_publisher(celery_producer)))
            rounds['apply_async'].append(measure(n, apply_async))
            queue(conn.default_channel).purge()
    results = {name: median_round(figures) for name, figures in rounds.items()}

    floor = results['kombu'][0]
    for name, (rate, cpu_us) in results.items():
        print(f'{label:<6} {name:<12} {rate:>10,.0f} tasks/s {cpu_us:>8.1f} CPU µs/task '
              f'{rate / floor:>7.0%} of kombu')

    bench_group(label, add, rounds_count)
    with Connection(url) as conn:
        Queue(qname, Exchange(qname), qname)(conn.default_channel).delete()
    app.close()


def bench_group(label: str, task: object, rounds_count: int, size: int = 1000) -> None:
    """Print how much faster a group of ``size`` publishes than ``size`` delay() calls."""
    delays, groups = [], []
    for _ in range(rounds_count):
        delays.append(measure(size, lambda i: task.delay(i, i)))
        groups.append(measure(1, lambda _: group(task.s(i, i) for i in range(size)).apply_async()))
    delay_rate, delay_cpu = median_round(delays)
    group_rate, group_cpu = median_round(groups)
    group_rate, group_cpu = group_rate * size, group_cpu / size
    print(f'{label:<6} {"group/delay":<12} {group_rate:>10,.0f} tasks/s {group_cpu:>8.1f} CPU µs/task '
          f'{group_rate / delay_rate:>7.2f}x delay() ({delay_rate:,.0f}/s, {delay_cpu:.1f} µs)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', type=int, default=20_000, help='messages per publisher')
    parser.add_argument('--broker', choices=['amqp', 'redis', 'both'], default='both')
    parser.add_argument('--rounds', type=int, default=3, help='rounds of the three publishers')
    options = parser.parse_args()
    labels = ['amqp', 'redis'] if options.broker == 'both' else [options.broker]
    for label in labels:
        bench_broker(label, BROKERS[label], options.n, options.rounds)


if __name__ == '__main__':
    main()

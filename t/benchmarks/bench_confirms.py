"""Publisher confirms on RabbitMQ: 1,000 ``delay()`` against a group of 1,000.

Usage::

    python t/benchmarks/bench_confirms.py [-n 1000] [--rounds 5]

With ``broker_transport_options={'confirm_publish': True}`` every ``delay()``
waits for the broker's ack (a round trip per task), while a group publishes
its members in a batch and waits once for all their acks.  Prints tasks/s
(median of ``--rounds`` rounds) for

* ``delay(), confirms``: ``n`` ``delay()`` calls, confirms on,
* ``group, confirms``: a group of ``n`` tasks, confirms on,
* ``group, no confirms``: the same group without confirms (the floor),

and how the confirmed group compares with the other two.
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

from kombu import Connection, Exchange, Queue

from celery import Celery, group
from t.servers import AMQP_URL


def make_app(qname: str, confirms: bool) -> tuple[Celery, Callable[..., object]]:
    """An app publishing ``bench.add`` to ``qname``, with or without publisher confirms."""
    app = Celery(f'bench-confirms-{uuid.uuid4().hex[:8]}', broker=AMQP_URL, set_as_current=False)
    app.conf.task_default_queue = qname
    app.conf.broker_pool_limit = 1
    if confirms:
        app.conf.broker_transport_options = {'confirm_publish': True}

    @app.task(name='bench.add', ignore_result=True, shared=False)
    def add(x: int, y: int) -> int:
        return x + y
    add.delay(0, 0)   # connect and declare the queue outside the timings
    return app, add


def seconds(run: Callable[[], object]) -> float:
    """Wall time of one ``run()``."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', type=int, default=1000, help='tasks per run')
    parser.add_argument('--rounds', type=int, default=5, help='rounds (the median is printed)')
    options = parser.parse_args()
    n = options.n
    qname = f'bench-confirms-{uuid.uuid4().hex[:8]}'
    with Connection(AMQP_URL) as conn:
        queue = Queue(qname, Exchange(qname), qname)(conn.default_channel)
        queue.declare()   # before the apps' first delay()
        confirmed, add = make_app(qname, confirms=True)
        plain, plain_add = make_app(qname, confirms=False)
        runs: dict[str, Callable[[], object]] = {
            'delay(), confirms': lambda: [add.delay(i, i) for i in range(n)],
            'group, confirms': lambda: group(add.s(i, i) for i in range(n)).apply_async(),
            'group, no confirms': lambda: group(plain_add.s(i, i)
                                                for i in range(n)).apply_async(),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        try:
            for _ in range(options.rounds):
                # Again each round: a test run ending meanwhile deletes unconsumed queues.
                queue.declare()
                for name, run in runs.items():   # in turn: the machine's noise hits all alike
                    times[name].append(seconds(run))
                queue.purge()
        finally:
            queue.delete()
            confirmed.close()
            plain.close()
    rates = {name: n / statistics.median(values) for name, values in times.items()}
    for name, rate in rates.items():
        print(f'amqp {name:<20} {rate:>10,.0f} tasks/s')
    confirmed_group = rates['group, confirms']
    print(f'group with confirms: {confirmed_group / rates["delay(), confirms"]:.1f}x '
          f'delay() with confirms, {confirmed_group / rates["group, no confirms"]:.0%} '
          'of a group without')


if __name__ == '__main__':
    main()

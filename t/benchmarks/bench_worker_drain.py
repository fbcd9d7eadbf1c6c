"""Drain N queued no-op tasks: the worker (prefork -c 2) beside a bare kombu consumer.

Usage: python t/benchmarks/bench_worker_drain.py [amqp|redis] [N] [rounds]
Prints tasks/s for both, the worker's share of the bare consumer's rate
(target: 65% on amqp, 100% on redis) and the worker's CPU per task: the
parent (consumer) and the pool children.  The floor is a plain kombu consumer
that acks each message, with the same prefetch window as the worker
(``worker_prefetch_multiplier`` x concurrency = 8).
"""
from __future__ import annotations

import os
import resource
import sys
import threading
import time
import uuid

from kombu import Connection, Consumer, Queue

from celery import Celery

TARGET_SHARE = {'amqp': 0.65, 'redis': 1.0}
CLOCK_TICKS = os.sysconf('SC_CLK_TCK')
BROKERS = {'amqp': 'amqp://guest:guest@127.0.0.1:5672//', 'redis': 'redis://127.0.0.1:6379/0'}


def make_app(url: str, queue: str) -> Celery:
    app = Celery(f'bench{queue}', set_as_current=False, broker=url)
    app.conf.task_default_queue = queue
    app.conf.task_ignore_result = True

    @app.task(name='bench.noop', ignore_result=True)
    def noop() -> None:
        return None
    return app


def fill(app: Celery, n: int) -> None:
    noop = app.tasks['bench.noop']
    with app.producer_or_acquire() as producer:
        for _ in range(n):
            noop.apply_async(producer=producer)


def bare_drain(url: str, queue: str, n: int) -> float:
    seen = [0]
    done = threading.Event()

    def on_message(message):
        message.ack()
        seen[0] += 1
        if seen[0] >= n:
            done.set()

    with Connection(url) as conn:
        start = time.perf_counter()
        with Consumer(conn, [Queue(queue)], on_message=on_message, prefetch_count=8):
            while not done.is_set():
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
        return n / (time.perf_counter() - start)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rpartition(')')[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def worker_drain(app: Celery, n: int) -> tuple[float, float, float]:
    from celery.worker import state
    ready = threading.Event()
    worker = app.WorkController(pool='prefork', concurrency=2, loglevel='ERROR',
                                without_mingle=True, without_gossip=True,
                                without_heartbeat=True, ready_callback=lambda c: ready.set())
    base = state.all_total_count[0]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    thread = threading.Thread(target=worker.start, daemon=True)
    start = time.perf_counter()
    thread.start()
    while state.all_total_count[0] - base < n:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    child_cpu = sum(process_cpu(pid) for pid in worker.pool.child_pids())
    worker.stop()
    thread.join(30)
    parent_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return n / elapsed, parent_cpu / n * 1e6, child_cpu / n * 1e6


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'amqp'
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    url = BROKERS[broker]
    queue = f'bench.{uuid.uuid4().hex[:8]}'
    app = make_app(url, queue)
    results = []
    # Bare and worker drains take turns, and the round with the median share
    # is printed: this machine's speed drifts between runs.
    for _ in range(rounds):
        fill(app, n)
        floor = bare_drain(url, queue, n)
        fill(app, n)
        results.append((floor, *worker_drain(app, n)))
    results.sort(key=lambda r: r[1] / r[0])
    floor, rate, parent_us, child_us = results[len(results) // 2]
    share, target = rate / floor, TARGET_SHARE[broker]
    verdict = 'meets' if share >= target else 'misses'
    print(f'{broker}: N={n}, median of {rounds} rounds: bare kombu {floor:,.0f} msg/s; '
          f'worker {rate:,.0f} tasks/s ({share:.0%} of bare, target {target:.0%}: {verdict}); '
          f'worker CPU {parent_us + child_us:.0f} us/task (parent {parent_us:.0f}, '
          f'children {child_us:.0f})')
    with Connection(url) as conn:
        Queue(queue, channel=conn.default_channel).delete()


if __name__ == '__main__':
    main()

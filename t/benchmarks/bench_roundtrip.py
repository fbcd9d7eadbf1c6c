"""Round-trip latency of ``add.delay(1, 1).get()`` with the Redis result backend.

Usage: python t/benchmarks/bench_roundtrip.py [amqp|redis] [CALLS]
Starts ``celery -A bench_roundtrip worker`` (default flags, unique queue),
then times CALLS sequential round trips after a short warm-up and prints
p50/p90/p99 beside the target.  This file is also the worker's app module.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from celery import Celery

BROKERS = {'amqp': 'amqp://guest:guest@127.0.0.1:5672//', 'redis': 'redis://127.0.0.1:6379/0'}
BACKEND = 'redis://127.0.0.1:6379/0'
TARGET_P50_MS = {'amqp': 1.2, 'redis': 1.7}
WARMUP = 50

app = Celery('bench_roundtrip', broker=os.environ.get('BENCH_BROKER', BROKERS['amqp']),
             backend=BACKEND)
app.conf.task_default_queue = os.environ.get('BENCH_QUEUE', 'bench.roundtrip')


@app.task(name='bench.add')
def add(x: int, y: int) -> int:
    """Add two numbers."""
    return x + y


def start_worker(broker: str, queue: str) -> subprocess.Popen:
    """Spawn the worker with default flags on ``queue``."""
    env = dict(os.environ, BENCH_BROKER=BROKERS[broker], BENCH_QUEUE=queue,
               PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.abspath(__file__)),
                                           os.path.dirname(os.path.dirname(os.path.dirname(
                                               os.path.abspath(__file__))))]))
    return subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'bench_roundtrip', 'worker', '-l', 'WARNING',
         '-n', f'{queue}@%h'], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def percentile(samples: list[float], p: float) -> float:
    """The ``p``-th percentile of sorted ``samples``."""
    return samples[min(len(samples) - 1, int(len(samples) * p / 100))]


def measure(calls: int) -> list[float]:
    """Time ``calls`` sequential round trips (seconds, sorted)."""
    add.delay(1, 1).get(timeout=30)   # the worker is up and connected
    for _ in range(WARMUP):
        add.delay(1, 1).get(timeout=10)
    samples = []
    perf = time.perf_counter
    for _ in range(calls):
        start = perf()
        add.delay(1, 1).get(timeout=10)
        samples.append(perf() - start)
    return sorted(samples)


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'amqp'
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    queue = f'bench.rt.{uuid.uuid4().hex[:8]}'
    app.conf.broker_url = BROKERS[broker]
    app.conf.task_default_queue = queue
    worker = start_worker(broker, queue)
    try:
        samples = measure(calls)
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
    p50, p90, p99 = (percentile(samples, p) * 1e3 for p in (50, 90, 99))
    target = TARGET_P50_MS[broker]
    verdict = 'meets' if p50 <= target else 'misses'
    print(f'{broker}: round trip over {calls} calls: p50 {p50:.2f} ms, p90 {p90:.2f} ms, '
          f'p99 {p99:.2f} ms (target p50 <= {target} ms: {verdict})')
    with app.connection_for_write() as conn:
        from kombu import Queue
        Queue(queue, channel=conn.default_channel).delete()


if __name__ == '__main__':
    main()

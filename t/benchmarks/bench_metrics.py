"""Drain throughput of the worker (prefork -c 2) with metrics and probes off and on.

Usage: python t/benchmarks/bench_metrics.py [amqp|redis] [N] [rounds]
Rounds alternate off/on; prints the median rate of each and their ratio
(target: metrics on within 5% of off).
"""
from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
import uuid

from kombu import Connection, Queue

from t.benchmarks.bench_worker_drain import fill, make_app
from t.servers import AMQP_URL, REDIS_URL

BROKERS = {'amqp': AMQP_URL, 'redis': REDIS_URL}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def drain(app, n: int, metrics: bool) -> float:
    from celery.worker import state
    ready = threading.Event()
    probes = {'metrics_port': free_port(), 'health_port': free_port()} if metrics else {}
    worker = app.WorkController(hostname=f'bench-metrics-{uuid.uuid4().hex[:6]}@localhost',
                                pool='prefork', concurrency=2, loglevel='ERROR',
                                without_mingle=True, without_gossip=True, without_heartbeat=True,
                                ready_callback=lambda c: ready.set(), **probes)
    base = state.all_total_count[0]
    thread = threading.Thread(target=worker.start, daemon=True)
    start = time.perf_counter()
    thread.start()
    while state.all_total_count[0] - base < n:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    worker.stop()
    thread.join(30)
    return n / elapsed


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'redis'
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    url = BROKERS[broker]
    queue = f'bench.{uuid.uuid4().hex[:8]}'
    app = make_app(url, queue)
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for metrics in (False, True):
            fill(app, n)
            rates[metrics].append(drain(app, n, metrics))
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    verdict = 'meets' if on >= 0.95 * off else 'misses'
    print(f'{broker}: N={n}, median of {rounds}: metrics off {off:,.0f} tasks/s, '
          f'on {on:,.0f} tasks/s ({on / off:.1%} of off, target >= 95%: {verdict})')
    with Connection(url) as conn:
        Queue(queue, channel=conn.default_channel).delete()


if __name__ == '__main__':
    main()

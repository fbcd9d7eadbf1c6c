"""Drain throughput of the worker (prefork -c 2) with an ops feature off and on.

Usage: python -m t.benchmarks.bench_metrics [amqp|redis] [N] [rounds] [metrics|dead_letters]
       python -m t.benchmarks.bench_metrics hooks [N]

``metrics``: metrics and health probes served (two ports); ``dead_letters``:
``task_dead_letter_queue`` and ``task_max_redeliveries`` set (every message
passes the redelivery guard).  Rounds run off and on in alternating order; prints the median
rate of each and their ratio (target: on within 5% of off), and the CPU the
worker's main process spent per task.  ``hooks`` times what metrics add to
each task in the main process (the three signal sends and their receivers),
without a broker: steadier than a drain on a shared machine.
"""
from __future__ import annotations

import resource
import socket
import statistics
import sys
import threading
import time
import uuid
from typing import Any

from kombu import Connection, Queue

from t.benchmarks.bench_worker_drain import fill, make_app
from t.servers import AMQP_URL, REDIS_URL

BROKERS = {'amqp': AMQP_URL, 'redis': REDIS_URL}
FEATURES = ('metrics', 'dead_letters')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def feature_options(app: Any, feature: str, on: bool) -> dict[str, Any]:
    """Configure ``app`` for ``feature`` on or off; the WorkController options it needs."""
    if feature == 'dead_letters':
        app.conf.task_dead_letter_queue = f'{app.conf.task_default_queue}.dlq' if on else None
        app.conf.task_max_redeliveries = 5 if on else None
        return {}
    return {'metrics_port': free_port(), 'health_port': free_port()} if on else {}


def main_cpu() -> float:
    """CPU seconds of this process: the worker's main process (its children excluded)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drain(app: Any, n: int, options: dict[str, Any]) -> tuple[float, float]:
    """Tasks a second, and main-process CPU microseconds a task."""
    from celery.worker import state
    ready = threading.Event()
    worker = app.WorkController(hostname=f'bench-ops-{uuid.uuid4().hex[:6]}@localhost',
                                pool='prefork', concurrency=2, loglevel='ERROR',
                                without_mingle=True, without_gossip=True, without_heartbeat=True,
                                ready_callback=lambda c: ready.set(), **options)
    base = state.all_total_count[0]
    thread = threading.Thread(target=worker.start, daemon=True)
    start, cpu = time.perf_counter(), main_cpu()
    thread.start()
    while state.all_total_count[0] - base < n:
        time.sleep(0.005)
    elapsed, cpu = time.perf_counter() - start, main_cpu() - cpu
    worker.stop()
    thread.join(30)
    return n / elapsed, cpu / n * 1e6


def hook_cost(n: int) -> float:
    """Microseconds the metrics receivers add to one task (received, started, succeeded)."""
    from types import SimpleNamespace

    from celery import signals
    from celery.worker.metrics import WorkerMetrics
    from celery.worker.request_events import request_event
    metrics = WorkerMetrics(dict)
    metrics.connect()
    message = SimpleNamespace(properties={})
    requests = [SimpleNamespace(name='bench.noop', id=str(i), message=message, time_start=None)
                for i in range(n)]
    start = time.perf_counter()
    for request in requests:
        signals.task_received.send(sender=None, request=request)
        request_event.send(sender=request, type='task-started', fields={})
        request_event.send(sender=request, type='task-succeeded', fields={'runtime': 0.001})
    elapsed = time.perf_counter() - start
    metrics.disconnect()
    return elapsed / n * 1e6


def main() -> None:
    if sys.argv[1:2] == ['hooks']:
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
        costs = [hook_cost(n) for _ in range(5)]
        print(f'metrics hooks: median {statistics.median(costs):.1f} us per task')
        return
    broker = sys.argv[1] if len(sys.argv) > 1 else 'redis'
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    feature = sys.argv[4] if len(sys.argv) > 4 else 'metrics'
    assert feature in FEATURES, f'feature must be one of {FEATURES}'
    url = BROKERS[broker]
    queue = f'bench.{uuid.uuid4().hex[:8]}'
    app = make_app(url, queue)
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    for round_ in range(rounds):
        # Alternate which goes first: the second drain of a round tends to be faster.
        for on in ((False, True) if round_ % 2 == 0 else (True, False)):
            fill(app, n)
            rate, cpu = drain(app, n, feature_options(app, feature, on))
            rates[on].append(rate)
            cpus[on].append(cpu)
    off, on_rate = statistics.median(rates[False]), statistics.median(rates[True])
    verdict = 'meets' if on_rate >= 0.95 * off else 'misses'
    print(f'{broker} {feature}: N={n}, median of {rounds}: off {off:,.0f} tasks/s, '
          f'on {on_rate:,.0f} tasks/s ({on_rate / off:.1%} of off, target >= 95%: {verdict}); '
          f'main-process CPU per task: off {statistics.median(cpus[False]):.0f} us, '
          f'on {statistics.median(cpus[True]):.0f} us')
    with Connection(url) as conn:
        for name in (queue, f'{queue}.dlq'):
            Queue(name, channel=conn.default_channel).delete()


if __name__ == '__main__':
    main()

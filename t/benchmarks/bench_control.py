"""``inspect ping`` round trip against 1 and 4 real workers (RabbitMQ by default).

Usage: python t/benchmarks/bench_control.py [broker_url] [rounds]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from t.integration.control.cluster import WorkerProcess, load_app, new_unique, wait_for  # noqa: E402


def bench(broker: str, nodes: int, rounds: int) -> None:
    unique = new_unique()
    app = load_app(broker, unique).app
    workers = [WorkerProcess(broker, unique, f'b{i}', '--without-gossip', '--without-mingle',
                             pool='solo', concurrency=1) for i in range(nodes)]
    try:
        for worker in workers:
            worker.wait_ready()
        assert wait_for(lambda: len(app.control.ping(timeout=0.5) or []) == nodes, 20)
        inspect = app.control.inspect(timeout=2.0, limit=nodes)
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            replies = inspect.ping()
            samples.append(time.perf_counter() - started)
            assert len(replies) == nodes
        samples.sort()
        print(f'inspect ping, {nodes} worker(s): median {statistics.median(samples) * 1e3:.2f} ms'
              f'  p95 {samples[int(len(samples) * .95) - 1] * 1e3:.2f} ms  ({rounds} rounds)')
    finally:
        for worker in workers:
            worker.stop()
        app.close()


if __name__ == '__main__':
    url = sys.argv[1] if len(sys.argv) > 1 else 'amqp://guest:guest@127.0.0.1:5672//'
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    for n in (1, 4):
        bench(url, n, count)

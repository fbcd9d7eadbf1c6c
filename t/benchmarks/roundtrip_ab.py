"""Round-trip latency of two checkouts taking turns call by call (an A/B of a change).

Usage: python t/benchmarks/roundtrip_ab.py [--one-worker] [amqp|redis] CALLS A B [...]
(A, B...: checkouts).

Each checkout gets a client process of its own, with a worker of its own on
a queue of its own (``bench_roundtrip.py``'s app and worker, run from that
checkout); with ``--one-worker`` (a change to the client only) the first
checkout's worker serves every client, on one queue.  The clients then take
turns, one ``add.delay(1, 1).get()`` each in a shuffled order per turn, so
all see the same load of a shared machine (separate runs of
``bench_roundtrip.py`` differ by more than most changes).  Prints
p50/p25/p75/p90 per checkout; counts as a live test run (``live_run.py``).
Not a ``bench_*`` script: ``make bench`` does not run it.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def client(checkout: str, broker: str, queue: str, own_worker: bool) -> None:
    """Serve round trips of ``checkout``'s client: one per ``go`` line read, its time printed."""
    sys.path.insert(0, checkout)
    from t.benchmarks import bench_roundtrip as bench
    bench.app.conf.broker_url = bench.BROKERS[broker]
    bench.app.conf.task_default_queue = queue
    worker = bench.start_worker(broker, queue) if own_worker else None
    try:
        bench.add.delay(1, 1).get(timeout=30)   # the worker is up
        for _ in range(bench.WARMUP):
            bench.add.delay(1, 1).get(timeout=10)
        print('ready', flush=True)
        perf = time.perf_counter
        for line in sys.stdin:
            if line.strip() != 'go':
                break
            start = perf()
            bench.add.delay(1, 1).get(timeout=10)
            print(f'{perf() - start:.7f}', flush=True)
    finally:
        if worker is not None:   # else the queue is the worker's owner's to delete
            bench.stop(worker)
            from kombu import Exchange, Queue
            with bench.app.connection_for_write() as conn:
                bound = Queue(queue, Exchange(queue), queue)(conn.default_channel)
                bound.declare()
                bound.delete()


def main() -> None:
    args = sys.argv[1:]
    one_worker = args[:1] == ['--one-worker']
    if one_worker:
        args = args[1:]
    broker, calls, checkouts = args[0], int(args[1]), args[2:]
    sys.path.insert(0, REPO)
    from t.benchmarks.live_run import live_run
    with live_run():
        run(broker, calls, checkouts, one_worker)


def run(broker: str, calls: int, checkouts: list[str], one_worker: bool = False) -> None:
    """Start a client per checkout, let them take turns ``calls`` times, print the figures."""
    shared = f'bench.rt.ab.{uuid.uuid4().hex[:8]}'
    clients: dict[str, subprocess.Popen[str]] = {}
    try:
        for n, path in enumerate(checkouts):
            queue = shared if one_worker else f'bench.rt.ab.{uuid.uuid4().hex[:8]}'
            own = not one_worker or n == 0
            proc = clients[path] = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), '--client', path, broker, queue,
                 str(int(own))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            # One at a time: the first one's worker must be up before the others send.
            if proc.stdout.readline().strip() != 'ready':
                raise SystemExit(f'the client of {path} did not start')
        samples: dict[str, list[float]] = {path: [] for path in checkouts}
        for _ in range(calls):
            order = list(checkouts)
            random.shuffle(order)
            for path in order:
                proc = clients[path]
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write('go\n')
                proc.stdin.flush()
                samples[path].append(float(proc.stdout.readline()))
    finally:
        # The worker's owner last: the others may still have a call in flight.
        for proc in reversed(list(clients.values())):
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(60)
    for path in checkouts:
        ordered = sorted(samples[path])
        p50, p25, p75, p90 = (ordered[int(len(ordered) * q)] * 1e3 for q in (.5, .25, .75, .9))
        print(f'{broker} {path}: p50 {p50:.3f} ms, p25 {p25:.3f}, p75 {p75:.3f}, p90 {p90:.3f}')


if __name__ == '__main__':
    if sys.argv[1:2] == ['--client']:
        client(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == '1')
    else:
        main()

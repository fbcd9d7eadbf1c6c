"""Round-trip latency of ``add.delay(1, 1).get()`` with the Redis result backend, beside Dramatiq.

Usage: python t/benchmarks/bench_roundtrip.py [amqp|redis] [CALLS]
Starts ``celery -A bench_roundtrip worker`` (default flags, unique queue),
then times CALLS sequential round trips after a short warm-up and prints
p50/p90/p99 beside the target.  This file is also the worker's app module.
Broker and backend come from ``t/servers.py`` (results in the Redis database
after the broker's); the run counts as a live test run (``live_run.py``).

Then, where Dramatiq is installed (``requirements/bench.txt``; skipped with a
note otherwise), the same on the same broker with Dramatiq: a
``dramatiq t.benchmarks.dramatiq_peer:broker`` worker (1 process, 2 threads,
unique queue) and its Redis result backend (``Results`` middleware), an
actor's ``send(1, 1).get_result(block=True)``; it prints Dramatiq's
p50/p90/p99 and our p50 as a multiple of Dramatiq's.  Dramatiq runs with its
defaults: on Redis its consumer polls, sleeping 5-10 ms after an empty fetch.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from types import ModuleType

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))

from kombu import Exchange, Queue

from celery import Celery
from t.benchmarks.live_run import live_run
from t.servers import AMQP_URL, REDIS_URL, redis_database, with_redis_database

BROKERS = {'amqp': AMQP_URL, 'redis': REDIS_URL}
BACKEND = with_redis_database(REDIS_URL, redis_database(REDIS_URL) + 1)
TARGET_P50_MS = {'amqp': 1.2, 'redis': 1.7}
WARMUP = 50
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

app = Celery('bench_roundtrip', broker=os.environ.get('BENCH_BROKER', BROKERS['amqp']),
             backend=BACKEND)
app.conf.task_default_queue = os.environ.get('BENCH_QUEUE', 'bench.roundtrip')
# The results go soon from the suite's database; the store stays a SETEX as with the default day.
app.conf.result_expires = 60


@app.task(name='bench.add')
def add(x: int, y: int) -> int:
    """Add two numbers."""
    return x + y


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker: this directory and the checkout importable."""
    path = os.pathsep.join([os.path.dirname(os.path.abspath(__file__)), REPO])
    return dict(os.environ, PYTHONPATH=path, **extra)


def start_worker(broker: str, queue: str) -> subprocess.Popen[bytes]:
    """Spawn the worker with default flags on ``queue``.

    It runs in this checkout: ``python -m`` puts the working directory first
    on ``sys.path``, so a worker started from another checkout would import
    that one's ``celery`` (``roundtrip_ab.py`` compares checkouts).
    """
    env = worker_env(BENCH_BROKER=BROKERS[broker], BENCH_QUEUE=queue)
    return subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'bench_roundtrip', 'worker', '-l', 'WARNING',
         '-n', f'{queue}@%h'], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)


def stop(worker: subprocess.Popen[bytes], group: bool = False) -> None:
    """Stop ``worker`` warmly, or kill it (and its process group when it leads one)."""
    worker.terminate()
    try:
        worker.wait(15)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(worker.pid, signal.SIGKILL)
        else:
            worker.kill()
        worker.wait()


def percentile(samples: list[float], p: float) -> float:
    """The ``p``-th percentile of sorted ``samples``."""
    return samples[min(len(samples) - 1, int(len(samples) * p / 100))]


def round_trips(call: Callable[[float], object], calls: int) -> list[float]:
    """Time ``calls`` sequential ``call(timeout)`` round trips (seconds, sorted)."""
    call(30)   # the worker is up and connected
    for _ in range(WARMUP):
        call(10)
    samples = []
    perf = time.perf_counter
    for _ in range(calls):
        start = perf()
        call(10)
        samples.append(perf() - start)
    return sorted(samples)


def measure(calls: int) -> list[float]:
    """Time ``calls`` sequential round trips of ours (seconds, sorted)."""
    return round_trips(lambda timeout: add.delay(1, 1).get(timeout=timeout), calls)


def figures(samples: list[float]) -> tuple[float, float, float]:
    """p50, p90 and p99 of sorted ``samples`` in milliseconds."""
    p50, p90, p99 = (percentile(samples, p) * 1e3 for p in (50, 90, 99))
    return p50, p90, p99


def wait_ready(worker: subprocess.Popen[bytes], log_path: str, timeout: float = 60) -> None:
    """Wait until the Dramatiq worker's process logged that it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path, encoding='utf-8', errors='replace') as log:
            text = log.read()
        if 'ready for action' in text:
            return
        if worker.poll() is not None:
            raise RuntimeError(f'the dramatiq worker exited ({worker.returncode}):\n{text[-2000:]}')
        time.sleep(0.1)
    raise RuntimeError(f'the dramatiq worker was not ready in {timeout:.0f} s')


def measure_dramatiq(dramatiq_peer: ModuleType, broker: str, calls: int) -> list[float]:
    """Time ``calls`` sequential Dramatiq round trips on ``broker`` (seconds, sorted)."""
    queue = namespace = f'bench-rt-dramatiq-{uuid.uuid4().hex[:8]}'
    client = dramatiq_peer.make_broker(BROKERS[broker], namespace, BACKEND)
    actor = dramatiq_peer.make_actor(client, queue, store_results=True)
    backend = dramatiq_peer.results_backend(client)
    env = worker_env(BENCH_DRAMATIQ_BROKER=BROKERS[broker], BENCH_DRAMATIQ_NAMESPACE=namespace,
                     BENCH_DRAMATIQ_RESULTS=BACKEND, BENCH_DRAMATIQ_QUEUE=queue)
    with tempfile.NamedTemporaryFile(prefix='bench-dramatiq-', suffix='.log') as log:
        # Its own session: a kill after a failed warm stop reaches its worker processes too.
        worker = subprocess.Popen(
            [sys.executable, '-m', 'dramatiq', 't.benchmarks.dramatiq_peer:broker',
             '--processes', '1', '--threads', '2', '--queues', queue],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            wait_ready(worker, log.name)
            return round_trips(lambda timeout: actor.send(1, 1).get_result(
                backend=backend, block=True, timeout=int(timeout * 1000)), calls)
        finally:
            stop(worker, group=True)
            dramatiq_peer.clean_up(client, queue, namespace)


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'amqp'
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    with live_run():
        run(broker, calls)


def run(broker: str, calls: int) -> None:
    """Time our round trips on ``broker``, then Dramatiq's, and print the figures."""
    queue = f'bench.rt.{uuid.uuid4().hex[:8]}'
    app.conf.broker_url = BROKERS[broker]
    app.conf.task_default_queue = queue
    worker = start_worker(broker, queue)
    try:
        samples = measure(calls)
    finally:
        stop(worker)
    p50, p90, p99 = figures(samples)
    target = TARGET_P50_MS[broker]
    verdict = 'meets' if p50 <= target else 'misses'
    print(f'{broker}: round trip over {calls} calls: p50 {p50:.2f} ms, p90 {p90:.2f} ms, '
          f'p99 {p99:.2f} ms (target p50 <= {target} ms: {verdict})', flush=True)
    with app.connection_for_write() as conn:
        bound = Queue(queue, Exchange(queue), queue)(conn.default_channel)
        # Redis deletes only the bindings its channel knows of: declare them first.
        bound.declare()
        bound.delete()

    try:
        # Here, not at the top: our worker imports this module and needs no Dramatiq.
        from t.benchmarks import dramatiq_peer
    except ModuleNotFoundError as exc:   # requirements/bench.txt not installed
        print(f'{broker}: dramatiq skipped: {exc.name} is not installed '
              '(pip install -r requirements/bench.txt)')
        return
    peer_p50, peer_p90, peer_p99 = figures(measure_dramatiq(dramatiq_peer, broker, calls))
    print(f'{broker}: dramatiq round trip over {calls} calls: p50 {peer_p50:.2f} ms, '
          f'p90 {peer_p90:.2f} ms, p99 {peer_p99:.2f} ms; our p50 is {p50 / peer_p50:.2f}x '
          f"Dramatiq's ({peer_p50 / p50:.1f}x as fast)")


if __name__ == '__main__':
    main()

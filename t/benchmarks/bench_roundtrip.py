"""Round-trip latency of ``add.delay(1, 1).get()`` with the Redis result backend, beside Dramatiq.

Usage: python t/benchmarks/bench_roundtrip.py [amqp|redis] [CALLS]
Starts ``celery -A bench_roundtrip worker`` (default flags, unique queue),
then times CALLS sequential round trips after a short warm-up and prints
p50/p90/p99 beside the target.  This file is also the worker's app module.
Broker and backend come from ``t/servers.py`` (results in the Redis database
after the broker's); the run counts as a live test run (``live_run.py``).

Where Dramatiq is installed (``requirements/bench.txt``; skipped with a
note otherwise), the same on the same broker with Dramatiq, taking turns
with ours call by call (each turn in a shuffled order, so both see the same
moments of the machine; separate runs drift by more than the two differ): a
``dramatiq t.benchmarks.dramatiq_peer:broker`` worker (1 process, 2 threads,
unique queue) and its Redis result backend (``Results`` middleware), an
actor's ``send(1, 1).get_result(block=True)``; it prints Dramatiq's
p50/p90/p99 and ours in the same turns, as a multiple of Dramatiq's.  Dramatiq runs with its
defaults: on Redis its consumer polls, sleeping 5-10 ms after an empty fetch.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def round_trips(calls: int, **clients: Callable[[float], object]) -> dict[str, list[float]]:
    """Time ``calls`` round trips of each client, taking turns call by call (seconds, sorted).

    Each client is called once per turn, in a shuffled order: all of them see
    the same machine (separate runs on a shared machine differ by more than
    the clients do).
    """
    for call in clients.values():
        call(30)   # the worker is up and connected
        for _ in range(WARMUP):
            call(10)
    samples: dict[str, list[float]] = {name: [] for name in clients}
    order = list(clients)
    perf = time.perf_counter
    for _ in range(calls):
        random.shuffle(order)
        for name in order:
            start = perf()
            clients[name](10)
            samples[name].append(perf() - start)
    return {name: sorted(taken) for name, taken in samples.items()}


def ours(timeout: float) -> object:
    """One round trip of ours."""
    return add.delay(1, 1).get(timeout=timeout)


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


@contextmanager
def dramatiq_client(dramatiq_peer: ModuleType, broker: str) -> Iterator[Callable[[float], object]]:
    """Start a Dramatiq worker on ``broker``; yield a round trip of its actor; stop and clean up."""
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
            yield lambda timeout: actor.send(1, 1).get_result(
                backend=backend, block=True, timeout=int(timeout * 1000))
        finally:
            stop(worker, group=True)
            dramatiq_peer.clean_up(client, queue, namespace)


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'amqp'
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    with live_run():
        run(broker, calls)


def run(broker: str, calls: int) -> None:
    """Time our round trips on ``broker`` alone, then taking turns with Dramatiq's; print them."""
    queue = f'bench.rt.{uuid.uuid4().hex[:8]}'
    app.conf.broker_url = BROKERS[broker]
    app.conf.task_default_queue = queue
    try:
        # Here, not at the top: our worker imports this module and needs no Dramatiq.
        from t.benchmarks import dramatiq_peer
    except ModuleNotFoundError as exc:   # requirements/bench.txt not installed
        dramatiq_peer, skipped = None, exc.name
    worker = start_worker(broker, queue)
    try:
        alone = round_trips(calls, ours=ours)['ours']
        if dramatiq_peer is not None:
            with dramatiq_client(dramatiq_peer, broker) as peer:
                turns = round_trips(calls, ours=ours, dramatiq=peer)
    finally:
        stop(worker)
        with app.connection_for_write() as conn:
            bound = Queue(queue, Exchange(queue), queue)(conn.default_channel)
            # Redis deletes only the bindings its channel knows of: declare them first.
            bound.declare()
            bound.delete()
    p50, p90, p99 = figures(alone)
    target = TARGET_P50_MS[broker]
    verdict = 'meets' if p50 <= target else 'misses'
    print(f'{broker}: round trip over {calls} calls: p50 {p50:.2f} ms, p90 {p90:.2f} ms, '
          f'p99 {p99:.2f} ms (target p50 <= {target} ms: {verdict})', flush=True)
    if dramatiq_peer is None:
        print(f'{broker}: dramatiq skipped: {skipped} is not installed '
              '(pip install -r requirements/bench.txt)')
        return
    (p50, _, _), (peer_p50, peer_p90, peer_p99) = figures(turns['ours']), figures(turns['dramatiq'])
    print(f'{broker}: dramatiq round trip over {calls} calls, taking turns with ours: '
          f'p50 {peer_p50:.2f} ms, p90 {peer_p90:.2f} ms, p99 {peer_p99:.2f} ms; ours in the '
          f"same turns p50 {p50:.2f} ms, {p50 / peer_p50:.2f}x Dramatiq's "
          f'({peer_p50 / p50:.1f}x as fast)')


if __name__ == '__main__':
    main()

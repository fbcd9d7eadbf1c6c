"""Cost of durable revokes (worker_revokes_backend): per revoke() call and per worker start.

Usage: python -m t.benchmarks.bench_revokes [amqp|redis] [revokes] [stored]

Prints the median ``app.control.revoke()`` latency with the store off and on
(rounds interleaved), and how long a starting worker takes to load ``stored``
ids from the store into its revoked set (``load_into_worker``).  Task
processing pays nothing: the store is read once at start and written once
per revoke.
"""
from __future__ import annotations

import statistics
import sys
import time
import uuid

import redis

from celery import Celery
from celery.worker import revoke_store, state
from t.servers import AMQP_URL, REDIS_BACKEND_URL, REDIS_URL

BROKERS = {'amqp': AMQP_URL, 'redis': REDIS_URL}


def revoke_latency(app: Celery, on: bool, count: int) -> tuple[float, list[str]]:
    """Median seconds of one ``revoke()`` broadcast; the ids revoked."""
    app.conf.worker_revokes_backend = 'result_backend' if on else None
    ids = [f'bench-{uuid.uuid4().hex}' for _ in range(count)]
    times = []
    for task_id in ids:
        start = time.perf_counter()
        app.control.revoke(task_id)
        times.append(time.perf_counter() - start)
    return statistics.median(times), ids


def load_time(app: Celery, stored: int) -> float:
    """Seconds for a starting worker to merge ``stored`` ids from the store."""
    store = revoke_store.RevokeStore(REDIS_BACKEND_URL, maxlen=max(stored, state.REVOKES_MAX))
    ids = [f'bench-load-{uuid.uuid4().hex}' for _ in range(stored)]
    for begin in range(0, stored, 5000):
        store.add(ids[begin:begin + 5000])
    app.conf.worker_revokes_backend = 'result_backend'
    try:
        start = time.perf_counter()
        loaded = revoke_store.load_into_worker(app)
        elapsed = time.perf_counter() - start
    finally:
        store.client.zrem(revoke_store.REVOKES_KEY, *ids)
        for task_id in ids:
            state.revoked.discard(task_id)
    assert loaded >= stored, loaded
    return elapsed


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'redis'
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    stored = int(sys.argv[3]) if len(sys.argv) > 3 else 50000
    app = Celery('bench-revokes', set_as_current=False, broker=BROKERS[broker],
                 backend=REDIS_BACKEND_URL)
    client = redis.Redis.from_url(REDIS_BACKEND_URL)
    medians: dict[bool, list[float]] = {False: [], True: []}
    try:
        for round_ in range(5):
            for on in ((False, True) if round_ % 2 == 0 else (True, False)):
                median, ids = revoke_latency(app, on, count)
                medians[on].append(median)
                if on:
                    client.zrem(revoke_store.REVOKES_KEY, *ids)
        off, on_ = statistics.median(medians[False]), statistics.median(medians[True])
        print(f'{broker}: revoke() median off {off * 1e3:.3f} ms, on {on_ * 1e3:.3f} ms '
              f'(+{(on_ - off) * 1e3:.3f} ms per revoke)')
        print(f'{broker}: worker start loads {stored:,} stored revokes in '
              f'{load_time(app, stored) * 1e3:.0f} ms')
    finally:
        app.close()


if __name__ == '__main__':
    main()

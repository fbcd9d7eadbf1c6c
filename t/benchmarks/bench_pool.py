"""Throughput of no-op jobs through the prefork pool (-c 2), callbacks in a hub thread.

Prints jobs/s for a burst (everything submitted up front) and for a window
of in-flight jobs the size of the worker's default prefetch (concurrency x 4),
where each completion submits the next job — the way the consumer feeds it.
"""
from __future__ import annotations

import sys
import time

from kombu.asynchronous import Hub

from celery.concurrency.prefork import TaskPool

CONCURRENCY = 2
JOBS = int(sys.argv[1]) if len(sys.argv) > 1 else 5000


def noop(*args: object) -> None:
    """The job: do nothing."""


def burst(pool: TaskPool, hub: Hub, jobs: int) -> float:
    done = [0]

    def on_done(result: object) -> None:
        done[0] += 1

    start = time.monotonic()
    for _ in range(jobs):
        pool.apply_async(noop, ('x' * 200,), callback=on_done, accept_callback=lambda pid, t: None)
    while done[0] < jobs:
        hub.run_once()
    return jobs / (time.monotonic() - start)


def windowed(pool: TaskPool, hub: Hub, jobs: int, window: int) -> float:
    state = {'sent': 0, 'done': 0}

    def submit() -> None:
        state['sent'] += 1
        pool.apply_async(noop, ('x' * 200,), callback=on_done, accept_callback=lambda pid, t: None)

    def on_done(result: object) -> None:
        state['done'] += 1
        if state['sent'] < jobs:
            submit()

    start = time.monotonic()
    for _ in range(window):
        submit()
    while state['done'] < jobs:
        hub.run_once()
    return jobs / (time.monotonic() - start)


def main() -> None:
    pool = TaskPool(CONCURRENCY)
    pool.start()
    hub = Hub()
    pool.register_with_event_loop(hub)
    try:
        burst(pool, hub, 200)  # warm up the children
        print(f'prefork -c {CONCURRENCY} burst:    {burst(pool, hub, JOBS):9.0f} jobs/s')
        window = CONCURRENCY * 4
        print(f'prefork -c {CONCURRENCY} window {window}: {windowed(pool, hub, JOBS, window):9.0f} jobs/s')
    finally:
        pool.stop()
        hub.close()


if __name__ == '__main__':
    main()

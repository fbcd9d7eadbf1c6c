"""Time canvas work-flows end to end on Redis (broker and results) with a real worker.

Prints, for a group of 1,000 no-op tasks, a chord of 1,000 with a sum body,
a chain of 100 and a chain of nine chords: the time to publish and the time
until the result is ready.  Usage: ``python t/benchmarks/bench_canvas.py [--size 1000]``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from celery import chain, chord, group  # noqa: E402
from t.integration.canvas.canvasapp import make_app  # noqa: E402
from t.integration.canvas.conftest import start_worker, stop_worker  # noqa: E402
from t.servers import REDIS_BACKEND_URL, REDIS_URL  # noqa: E402

BROKER = REDIS_URL
BACKEND = REDIS_BACKEND_URL


def timed(label: str, build, timeout: float = 120.0) -> None:
    """Publish the work-flow from ``build()`` and wait for it; print both times."""
    started = time.perf_counter()
    result = build().delay()
    published = time.perf_counter()
    result.get(timeout=timeout, interval=0.05)
    done = time.perf_counter()
    print(f'{label:<28} publish {published - started:7.3f}s   total {done - started:7.3f}s')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--size', type=int, default=1000, help='group/chord size')
    parser.add_argument('--chain', type=int, default=100, help='chain length')
    parser.add_argument('--concurrency', type=int, default=2)
    opts = parser.parse_args()
    queue = f'bench-canvas-{uuid.uuid4().hex[:8]}'
    worker = start_worker(BROKER, BACKEND, queue, concurrency=opts.concurrency)
    app = make_app(BROKER, BACKEND, queue)
    noop, add, xsum, identity = (app.tasks[f'canvas.{n}']
                                 for n in ('noop', 'add', 'xsum', 'identity'))
    try:
        timed('warm-up', lambda: add.s(1, 1))
        timed(f'group of {opts.size} no-ops', lambda: group(noop.si() for _ in range(opts.size)))
        timed(f'chord of {opts.size} + sum',
              lambda: chord((add.si(i, 0) for i in range(opts.size)), xsum.s()))
        timed(f'chain of {opts.chain}',
              lambda: chain(add.s(0, 1), *(add.s(1) for _ in range(opts.chain - 1))))
        timed('chain of 9 chords (2 each)',
              lambda: chain(identity.si(1), *(chord([identity.s(), identity.s()], xsum.s())
                                              for _ in range(9))))
    finally:
        stop_worker(worker)
        app.close()


if __name__ == '__main__':
    main()

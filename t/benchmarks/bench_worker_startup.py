"""Start-up time: spawn of ``celery -A ... worker`` (default flags) to the first task run.

Usage: python t/benchmarks/bench_worker_startup.py [amqp|redis] [RUNS]
A task is queued before the worker starts; the task writes the time it ran
to a file.  Prints the best and median spawn-to-first-task time beside the
target.  This file is also the worker's app module.

The worker runs with bytecode caching on (in a private cache directory, warmed
by compileall first), as an installed Celery has compiled ``.pyc`` files:
a checkout run with ``PYTHONDONTWRITEBYTECODE`` would otherwise time ~0.2 s of
compiling Celery's sources on every start.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid

from celery import Celery

BROKERS = {'amqp': 'amqp://guest:guest@127.0.0.1:5672//', 'redis': 'redis://127.0.0.1:6379/0'}
TARGET_S = 0.3
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BYTECODE_CACHE = os.path.join(tempfile.gettempdir(), 'celery-bench-pycache')

app = Celery('bench_worker_startup', broker=os.environ.get('BENCH_BROKER', BROKERS['amqp']))
app.conf.task_default_queue = os.environ.get('BENCH_QUEUE', 'bench.startup')


@app.task(name='bench.mark', ignore_result=True)
def mark(path: str) -> None:
    """Record when the first task ran."""
    with open(path, 'w') as stamp:
        stamp.write(repr(time.time()))


def spawn_worker(broker: str, queue: str) -> subprocess.Popen:
    """Spawn the worker with default flags on ``queue``."""
    env = dict(os.environ, BENCH_BROKER=BROKERS[broker], BENCH_QUEUE=queue,
               PYTHONPATH=os.pathsep.join([HERE, ROOT]), PYTHONPYCACHEPREFIX=BYTECODE_CACHE)
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    return subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'bench_worker_startup', 'worker',
         '-l', 'WARNING', '-n', f'{queue}@%h'],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_run(broker: str) -> float:
    """Seconds from spawn to the first task executed."""
    queue = f'bench.su.{uuid.uuid4().hex[:8]}'
    app.conf.broker_url = BROKERS[broker]
    app.conf.task_default_queue = queue
    fd, path = tempfile.mkstemp(prefix='bench-startup-')
    os.close(fd)
    os.unlink(path)
    mark.delay(path)
    start = time.time()
    worker = spawn_worker(broker, queue)
    try:
        deadline = start + 30
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.002)
        time.sleep(0.01)
        with open(path) as stamp:
            ran_at = float(stamp.read())
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
        if os.path.exists(path):
            os.unlink(path)
        with app.connection_for_write() as conn:
            from kombu import Queue
            Queue(queue, channel=conn.default_channel).delete()
    return ran_at - start


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'amqp'
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    subprocess.run([sys.executable, '-m', 'compileall', '-q', os.path.join(ROOT, 'celery'), HERE],
                   env=dict(os.environ, PYTHONPYCACHEPREFIX=BYTECODE_CACHE), check=True)
    times = [one_run(broker) for _ in range(runs)]
    # No statistics module: this file is the worker's app module and stays lean.
    best, median = min(times), sorted(times)[len(times) // 2]
    verdict = 'meets' if median <= TARGET_S else 'misses'
    print(f'{broker}: spawn to first task: best {best:.3f} s, median {median:.3f} s over '
          f'{runs} runs (target <= {TARGET_S} s: {verdict})')


if __name__ == '__main__':
    main()

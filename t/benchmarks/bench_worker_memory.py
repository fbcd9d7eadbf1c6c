"""Idle memory of the worker tree: RSS and PSS of the parent and its pool children.

Usage: python t/benchmarks/bench_worker_memory.py [amqp|redis]
Starts ``celery -A bench_worker_memory worker`` (default flags), runs one task
so every process is fully up, waits for it to go idle, then sums
``/proc/<pid>/smaps_rollup`` over the tree.  This file is also the app module.
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
TARGET_PSS_MB = 50
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IDLE_SECONDS = 2.0
DEPENDENCIES = ('kombu', 'billiard', 'amqp', 'vine', 'click', 'redis', 'dateutil', 'yaml', 'msgpack')
BYTECODE_CACHE = os.path.join(tempfile.gettempdir(), 'celery-bench-pycache')

app = Celery('bench_worker_memory', broker=os.environ.get('BENCH_BROKER', BROKERS['amqp']),
             backend='redis://127.0.0.1:6379/0')
app.conf.task_default_queue = os.environ.get('BENCH_QUEUE', 'bench.memory')


@app.task(name='bench.ping')
def ping() -> str:
    """Answer pong."""
    return 'pong'


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    found = []
    for task in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{task}/children') as f:
                kids = [int(k) for k in f.read().split()]
        except FileNotFoundError:
            continue
        for kid in kids:
            found.append(kid)
            found.extend(children(kid))
    return found


def rollup(pid: int) -> dict[str, int]:
    """RSS and PSS of ``pid`` in KiB."""
    sizes = {}
    with open(f'/proc/{pid}/smaps_rollup') as f:
        for line in f:
            key, _, rest = line.partition(':')
            if key in ('Rss', 'Pss'):
                sizes[key] = int(rest.split()[0])
    return sizes


def main() -> None:
    broker = sys.argv[1] if len(sys.argv) > 1 else 'amqp'
    queue = f'bench.mem.{uuid.uuid4().hex[:8]}'
    app.conf.broker_url = BROKERS[broker]
    app.conf.task_default_queue = queue
    # Cached bytecode, as an installed Celery has: compiling in-process
    # leaves garbage behind that an installed worker never makes.
    env = dict(os.environ, BENCH_BROKER=BROKERS[broker], BENCH_QUEUE=queue,
               PYTHONPATH=os.pathsep.join([HERE, ROOT]), PYTHONPYCACHEPREFIX=BYTECODE_CACHE)
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    # The dependencies too: with a bytecode prefix, Python ignores their own
    # __pycache__ and the first run would compile them in the worker.
    deps = [os.path.dirname(__import__(name).__file__) for name in DEPENDENCIES]
    subprocess.run([sys.executable, '-m', 'compileall', '-q', os.path.join(ROOT, 'celery'), HERE,
                    *deps], env=env, check=True)
    worker = subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', 'bench_worker_memory', 'worker', '-l', 'WARNING',
         '-n', f'{queue}@%h'], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ping.delay().get(timeout=30)
        time.sleep(IDLE_SECONDS)
        pids = [worker.pid, *children(worker.pid)]
        sizes = [rollup(pid) for pid in pids]
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
        with app.connection_for_write() as conn:
            from kombu import Queue
            Queue(queue, channel=conn.default_channel).delete()
    rss = sum(s['Rss'] for s in sizes) / 1024
    pss = sum(s['Pss'] for s in sizes) / 1024
    parent = sizes[0]
    verdict = 'meets' if pss <= TARGET_PSS_MB else 'misses'
    print(f'{broker}: idle worker tree of {len(pids)} processes: RSS {rss:.1f} MB, '
          f'PSS {pss:.1f} MB (parent RSS {parent["Rss"] / 1024:.1f} MB, '
          f'PSS {parent["Pss"] / 1024:.1f} MB; target PSS <= {TARGET_PSS_MB} MB: {verdict})')


if __name__ == '__main__':
    main()

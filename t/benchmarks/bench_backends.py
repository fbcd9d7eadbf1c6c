"""Result backend throughput: store_result + get_task_meta ops/s, and get() latency after a push.

Usage: python t/benchmarks/bench_backends.py [N]   (needs the local services)
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
import uuid
from types import SimpleNamespace

from celery import Celery, states

AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672//'
BACKENDS = {
    'redis': 'redis://127.0.0.1:6379/0',
    'memcached': 'cache+memcached://127.0.0.1:11211/',
    'memory': 'cache+memory://',
    'sqlite': 'db+sqlite:///{tmp}/bench.db',
    'postgresql': 'db+postgresql://postgres@127.0.0.1:5432/test',
    'filesystem': 'file://{tmp}',
}


def make_app(url: str, name: str) -> Celery:
    app = Celery(name, set_as_current=False, broker=AMQP_URL, backend=url)
    prefix = uuid.uuid4().hex[:8]
    app.conf.result_backend_transport_options = {'global_keyprefix': f'bench{prefix}_'}
    app.conf.database_table_names = {'task': f'bench_tm_{prefix}', 'group': f'bench_ts_{prefix}'}
    app.conf.result_expires = 300
    return app


def bench_store_and_read(name: str, url: str, n: int) -> None:
    app = make_app(url, f'bench-{name}')
    backend = app.backend
    ids = [uuid.uuid4().hex for _ in range(n)]
    start = time.perf_counter()
    for task_id in ids:
        backend.store_result(task_id, {'value': 1}, states.SUCCESS)
    store_time = time.perf_counter() - start
    start = time.perf_counter()
    for task_id in ids:
        backend.get_task_meta(task_id, cache=False)
    read_time = time.perf_counter() - start
    # One "op" of the combined figure is a store followed by a read of that result.
    print(f'{name:>11}: store_result + get_task_meta {n / (store_time + read_time):8.0f} ops/s'
          f'   (store_result {n / store_time:8.0f} ops/s, get_task_meta {n / read_time:8.0f} ops/s)')
    tables = getattr(backend, 'tables', None)
    if tables is not None:
        # Tables only: the id sequences are shared with every other results table.
        for table in (tables.task, tables.group):
            table.drop(backend.engine, checkfirst=True)
    else:
        for task_id in ids:
            backend.forget(task_id)


def push_latency(name: str, client: Celery, publish, rounds: int) -> None:
    latencies = []
    for _ in range(rounds):
        task_id = uuid.uuid4().hex
        result = client.AsyncResult(task_id)
        sent = []
        timer = threading.Timer(0.005, lambda: (sent.append(time.perf_counter()),
                                                publish(task_id)))
        timer.start()
        result.get(timeout=10)
        latencies.append(time.perf_counter() - sent[0])
        timer.join()
    print(f'{name:>11}: get() latency after push  median {statistics.median(latencies) * 1e3:.2f} ms'
          f'  p95 {sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1e3:.2f} ms')


def bench_redis_latency(rounds: int) -> None:
    client = make_app(BACKENDS['redis'], 'bench-redis-client')
    writer = client.backend.__class__(app=client, url=BACKENDS['redis'])
    push_latency('redis', client, lambda tid: writer.mark_as_done(tid, 1), rounds)


def bench_rpc_latency(rounds: int) -> None:
    client = make_app('rpc://', 'bench-rpc-client')
    with client.producer_or_acquire() as producer:
        client.backend.on_task_call(producer, 'x')
    oid = client.thread_oid
    writer_app = make_app('rpc://', 'bench-rpc-writer')

    def publish(task_id: str) -> None:
        request = SimpleNamespace(reply_to=oid, correlation_id=task_id, group=None,
                                  parent_id=None, chord=None, children=[],
                                  ignore_result=False)
        writer_app.backend.mark_as_done(task_id, 1, request=request)
    push_latency('rpc', client, publish, rounds)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    tmp = tempfile.mkdtemp()
    for name, url in BACKENDS.items():
        try:
            bench_store_and_read(name, url.format(tmp=tmp), n)
        except Exception as exc:  # noqa: BLE001 - a missing service skips that line
            print(f'{name:>11}: skipped ({exc!r})')
    bench_redis_latency(min(n, 200))
    bench_rpc_latency(min(n, 200))


if __name__ == '__main__':
    main()

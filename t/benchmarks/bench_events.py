"""Events per second from a worker draining no-op tasks with ``-E``, and the cost of ``-E``.

Publishes N no-op tasks, then starts a worker (with and without ``-E``) and
times how long it takes to drain the queue.  Usage:
python t/benchmarks/bench_events.py [broker_url] [tasks] [--rounds 3] [--pool prefork] [-c 2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from t.integration.control.cluster import WorkerProcess, load_app, new_unique, wait_for  # noqa: E402


def drain(broker: str, tasks: int, events: bool, listen: bool = True,
          pool: str = 'prefork', concurrency: int = 2) -> tuple[float, int]:
    unique = new_unique()
    module = load_app(broker, unique)
    app = module.app
    app.conf.task_send_sent_event = False
    app.conf.task_ignore_result = True
    count = [0]
    stop = threading.Event()

    def receive() -> None:
        with app.connection_for_read() as conn:
            recv = app.events.Receiver(conn, handlers={'*': lambda e: count.__setitem__(0, count[0] + 1)})
            recv.should_stop = False
            while not stop.is_set():
                try:
                    recv.capture(limit=None, timeout=0.5, wakeup=False)
                except Exception:  # noqa: BLE001 - capture timeouts end each round
                    pass

    with app.producer_or_acquire() as producer:
        for i in range(tasks):
            module.add.apply_async((i, i), producer=producer, ignore_result=True)
    listener = threading.Thread(target=receive, daemon=True)
    if listen:
        listener.start()
    extra = ('-E',) if events else ()
    worker = WorkerProcess(broker, unique, 'drain', *extra, '--without-gossip',
                           '--without-mingle', '--without-heartbeat', '-l', 'WARNING',
                           pool=pool, concurrency=concurrency)
    try:
        # Timed from the first task taken: start-up is not what -E costs.
        assert wait_for(lambda: _queue_depth(app, f'ctlq-{unique}') < tasks, 60, interval=0.01), \
            worker.output()
        started = time.perf_counter()
        done = wait_for(lambda: _queue_empty(app, f'ctlq-{unique}'), 300, interval=0.05)
        elapsed = time.perf_counter() - started
        assert done, worker.output()
        time.sleep(1.0)
    finally:
        worker.stop()
        stop.set()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(f'ctlq-{unique}')
        app.close()
    return elapsed, count[0]


def _queue_depth(app, name: str) -> int:
    with app.connection_for_write() as conn:
        _, messages, _ = conn.default_channel.queue_declare(name, passive=True)
        return messages


def _queue_empty(app, name: str) -> bool:
    return _queue_depth(app, name) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('broker', nargs='?', default='amqp://guest:guest@127.0.0.1:5672//')
    parser.add_argument('tasks', nargs='?', type=int, default=20000)
    parser.add_argument('--pool', default='prefork', help='worker pool (default: prefork)')
    parser.add_argument('-c', '--concurrency', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=3,
                        help='rounds of plain and -E drains; the medians are compared')
    options = parser.parse_args()
    url, n = options.broker, options.tasks
    plain, with_events = [], []
    for _ in range(options.rounds):
        # The cost of -E is measured with nobody consuming the events: on a
        # small machine a monitor in the same box competes with the worker.
        plain.append(drain(url, n, False, False, options.pool, options.concurrency)[0])
        with_events.append(drain(url, n, True, False, options.pool, options.concurrency)[0])
    plain_time, events_time = statistics.median(plain), statistics.median(with_events)
    monitored, received = drain(url, n, True, True, options.pool, options.concurrency)
    print(f'pool {options.pool} -c {options.concurrency}')
    print(f'drain {n} no-op tasks without -E: {n / plain_time:.0f} tasks/s (median of {options.rounds})')
    print(f'drain {n} no-op tasks with -E:    {n / events_time:.0f} tasks/s (median of {options.rounds})')
    print(f'with -E and a monitor receiving: {n / monitored:.0f} tasks/s, '
          f'{received} events received ({received / monitored:.0f} events/s)')
    print(f'cost of -E on drain throughput: {(events_time / plain_time - 1) * 100:.1f}% '
          f'(target: under 15%)')


if __name__ == '__main__':
    main()

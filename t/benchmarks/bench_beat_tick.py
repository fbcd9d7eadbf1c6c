"""Scheduler tick cost with 10,000 entries (prints figures; not a test).

Run: ``python t/benchmarks/bench_beat_tick.py [entries]``
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from celery import Celery  # noqa: E402
from celery.beat import Scheduler  # noqa: E402
from celery.schedules import crontab, schedule  # noqa: E402


class Clock:
    """Real time plus an offset the benchmark can jump forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


class CountingScheduler(Scheduler):
    producer = None
    sent = 0

    def send_task(self, *args, **kwargs):
        self.sent += 1


def build(entries: int, clock: Clock) -> CountingScheduler:
    app = Celery('bench', broker='memory://', set_as_current=False)
    app.conf.result_expires = None
    app.conf.beat_schedule = {
        f'entry-{i}': {
            'task': 'bench.task',
            'schedule': (schedule(60 + i % 3600, nowfun=clock) if i % 2
                         else crontab(minute=i % 60, hour='*', nowfun=clock)),
        }
        for i in range(entries)
    }
    return CountingScheduler(app)


def main(entries: int = 10_000) -> None:
    clock = Clock()
    started = time.perf_counter()
    scheduler = build(entries, clock)
    scheduler.tick()  # builds the heap
    print(f'setup + first tick (heap build) with {entries} entries: '
          f'{time.perf_counter() - started:.3f} s')

    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        scheduler.tick()
    idle = (time.perf_counter() - started) / rounds
    print(f'idle tick (nothing due): {idle * 1e6:.1f} us')

    clock.offset += timedelta(hours=2)  # every entry is now due
    started = time.perf_counter()
    scheduler.tick()
    burst = time.perf_counter() - started
    print(f'tick sending {scheduler.sent} due entries: {burst:.3f} s '
          f'({burst / max(scheduler.sent, 1) * 1e6:.1f} us per entry)')


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)

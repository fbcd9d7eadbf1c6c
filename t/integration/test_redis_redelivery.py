"""Redelivery on Redis with the owned transport: fast for dead workers, never for live ones.

Each test names its own unacked hash, index and mutex (transport options), so
its short visibility timeout never restores another test's messages.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from celery import Celery
from t.integration.appenv import ROOT, wait_for
from t.servers import REDIS_BACKEND_URL, REDIS_URL

pytestmark = pytest.mark.timeout(180)

VISIBILITY_TIMEOUT = 10

APP = '''
import json, os, time
import redis
from celery import Celery

unique = os.environ['REDELIVERY_UNIQUE']
app = Celery('redelivery', broker=os.environ['REDELIVERY_BROKER'], set_as_current=False)
app.conf.broker_transport_options = json.loads(os.environ['REDELIVERY_OPTIONS'])
app.conf.task_default_queue = f'q.{unique}'
app.conf.task_ignore_result = True
app.conf.worker_hijack_root_logger = False
records = redis.Redis.from_url(os.environ['REDELIVERY_RECORDS'])


@app.task(acks_late=True)
def held(i):
    """Record a run; block while the gate is closed (the worker holds the rest)."""
    records.sadd(f'runs.{unique}', i)
    records.incr(f'count.{unique}')
    while not records.exists(f'gate.{unique}'):
        time.sleep(0.05)


@app.task(acks_late=True)
def long(seconds):
    """Run longer than the visibility timeout."""
    records.incr(f'count.{unique}')
    time.sleep(seconds)
'''


class Env:
    """A worker app module in a temporary directory, its workers, and its Redis keys."""

    def __init__(self, tmp_path: Path, unique: str, visibility_timeout: float,
                 **options: Any) -> None:
        (tmp_path / 'redeliveryapp.py').write_text(textwrap.dedent(APP))
        self.unique = unique
        self.queue = f'q.{unique}'
        self.options = {'visibility_timeout': visibility_timeout,
                        'unacked_key': f'unacked.{unique}',
                        'unacked_index_key': f'unacked_index.{unique}',
                        'unacked_mutex_key': f'unacked_mutex.{unique}', **options}
        self.env = dict(os.environ, REDELIVERY_UNIQUE=unique, REDELIVERY_BROKER=REDIS_URL,
                        REDELIVERY_RECORDS=REDIS_BACKEND_URL,
                        REDELIVERY_OPTIONS=json.dumps(self.options),
                        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
                        # The owned transport, whichever way the suite runs.
                        CELERY_STOCK_TRANSPORTS='0')
        self.dir = tmp_path
        self.broker = redis.Redis.from_url(REDIS_URL)
        self.records = redis.Redis.from_url(REDIS_BACKEND_URL)
        self.workers: list[subprocess.Popen] = []
        # The client: the same broker, queue and transport options as the workers.
        self.app = Celery(f'client.{unique}', broker=REDIS_URL, set_as_current=False)
        self.app.conf.task_default_queue = self.queue
        self.app.conf.broker_transport_options = self.options

    def send(self, name: str, *args: Any, producer: Any = None) -> None:
        """Send ``redeliveryapp.<name>`` by name."""
        self.app.send_task(f'redeliveryapp.{name}', args, producer=producer)

    def worker(self, *args: str) -> subprocess.Popen:
        """Start ``celery worker`` (prefork) in its own process group."""
        log = open(self.dir / f'worker{len(self.workers)}.log', 'wb')
        proc = subprocess.Popen(
            [sys.executable, '-m', 'celery', '-A', 'redeliveryapp', 'worker', '-l', 'INFO',
             '--without-mingle', '--without-gossip', '--without-heartbeat',
             '-n', f'w{len(self.workers)}.{self.unique}@%h', *args],
            cwd=self.dir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.workers.append(proc)
        return proc

    def waiting(self) -> int:
        """Messages ready in the queue, every priority sub-queue included."""
        return sum(self.broker.llen(key) for key in self.broker.scan_iter(f'{self.queue}*'))

    def unacked(self) -> int:
        return self.broker.hlen(self.options['unacked_key'])

    def count(self) -> int:
        return int(self.records.get(f'count.{self.unique}') or 0)

    def runs(self) -> int:
        return self.records.scard(f'runs.{self.unique}')

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for client in (self.broker, self.records):
            for key in client.scan_iter(f'*{self.unique}*'):
                client.delete(key)
        self.app.close()


@pytest.fixture
def env(tmp_path: Path, unique: str, request: Any) -> Iterator[Env]:
    environment = Env(tmp_path, unique, **getattr(request, 'param', {
        'visibility_timeout': VISIBILITY_TIMEOUT}))
    yield environment
    environment.close()


def test_killed_worker_holding_1000_tasks_gets_them_back_in_time(env: Env) -> None:
    total = 1000
    with env.app.producer_or_acquire() as producer:
        for i in range(total):
            env.send('held', i, producer=producer)
    # A worker on another queue: alive, consuming, so it sweeps the index.
    env.worker('-Q', f'other.{env.unique}', '-c', '1')
    doomed = env.worker('-c', '1', '--prefetch-multiplier', str(total))
    assert wait_for(lambda: env.unacked() == total and env.count() >= 1, timeout=60), \
        (env.unacked(), env.waiting(), (env.dir / 'worker1.log').read_text()[-3000:])

    os.killpg(doomed.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    doomed.wait()
    assert wait_for(lambda: env.waiting() == total, timeout=VISIBILITY_TIMEOUT + 10,
                    interval=0.1), (env.waiting(), env.unacked())
    back_after = time.monotonic() - killed_at
    print(f'{total} messages back {back_after:.1f} s after the kill')
    assert back_after <= VISIBILITY_TIMEOUT + 5, back_after
    assert env.unacked() == 0

    env.records.set(f'gate.{env.unique}', 1)
    env.worker('-c', '2')
    assert wait_for(lambda: env.runs() == total, timeout=90), (env.runs(), env.waiting())
    assert wait_for(lambda: env.unacked() == 0 and env.waiting() == 0, timeout=10)


#: kombu's own sweep every second too: a stock worker restores a running
#: task's message as soon as it is visibility_timeout old, and runs it again.
EAGER_STOCK_SWEEP = {'visibility_timeout': 2, 'unacked_restore_interval': 1,
                     'unacked_restore_throttle': 1}


@pytest.mark.parametrize('env', [EAGER_STOCK_SWEEP], indirect=True)
def test_live_worker_keeps_a_task_longer_than_the_visibility_timeout(env: Env) -> None:
    env.send('long', 7)
    env.worker('-c', '2')
    assert wait_for(lambda: env.count() == 1, timeout=30)
    # Three visibility timeouts and more: never restored, never run twice.
    time.sleep(8)
    assert env.count() == 1
    assert env.unacked() == 0 and env.waiting() == 0

"""Start a real in-process worker (prefork) against a real broker."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from celery import Celery
from celery._state import _set_task_join_will_block
from t.integration.program.conftest import WorkerProcess
from t.servers import REDIS_BACKEND_URL

REDIS_BACKEND = REDIS_BACKEND_URL


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class RunningWorker:
    """A WorkController running in a thread; ``stop()`` shuts it down warm."""

    def __init__(self, app: Celery, **options: Any) -> None:
        self.ready = threading.Event()
        options.setdefault('pool', 'prefork')
        options.setdefault('concurrency', 2)
        options.setdefault('without_mingle', True)
        options.setdefault('without_gossip', True)
        options.setdefault('without_heartbeat', True)
        self.worker = app.WorkController(
            hostname=f'test-{app.main}@localhost', loglevel='WARNING',
            ready_callback=lambda c: self.ready.set(), **options)
        self.thread = threading.Thread(target=self.worker.start, daemon=True)

    def start(self) -> RunningWorker:
        self.thread.start()
        assert self.ready.wait(20), 'worker did not become ready'
        # The worker marks this process as a pool owner; the test is a client too.
        _set_task_join_will_block(False)
        return self

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(20)


@pytest.fixture
def make_app(unique: str, broker_url: str) -> Iterator[Any]:
    """Build an app on the parametrized broker with a unique default queue."""
    apps: list[Celery] = []

    def factory(**conf: Any) -> Celery:
        app = Celery(f'w{unique}{len(apps)}', set_as_current=False, broker=broker_url,
                     backend=REDIS_BACKEND)
        app.conf.task_default_queue = f'q.{unique}.{len(apps)}'
        app.conf.broker_connection_retry_on_startup = True
        app.conf.update(conf)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


@pytest.fixture
def run_worker() -> Iterator[Any]:
    """Start workers; every one is stopped at teardown."""
    workers: list[RunningWorker] = []

    def start(app: Celery, **options: Any) -> RunningWorker:
        worker = RunningWorker(app, **options).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


# -- the real ``celery worker`` program --------------------------------------------------

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RESULT_BACKEND_DB = REDIS_BACKEND_URL
BASE_ARGS = ('worker', '--without-mingle', '--without-gossip', '--without-heartbeat', '-l', 'INFO')


class WorkerProgram(WorkerProcess):
    """``python -m celery -A workerapp worker ...`` as a subprocess, output captured."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        # Same capture machinery as the program tests, another app module.
        self.args = [sys.executable, '-m', 'celery', '-A', 'workerapp', *args]
        self.proc = subprocess.Popen(self.args, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = []
        self._eof = False
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def kill_tree(self) -> None:
        """SIGKILL the worker and its pool children."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def child_pids(self) -> list[int]:
        """Pids of the pool children (direct children of the worker process)."""
        pids: list[int] = []
        # Each thread lists the children it forked (the autoscaler forks too).
        for path in Path(f'/proc/{self.proc.pid}/task').glob('*/children'):
            try:
                pids += [int(p) for p in path.read_text().split()]
            except FileNotFoundError:
                continue
        return sorted(pids)


class Scenario:
    """One test's worker environment: queue, result prefix, trace dir and a client."""

    def __init__(self, broker_url: str, unique: str, tmp_path: Path) -> None:
        self.broker_url = broker_url
        self.unique = unique
        self.queue = f'wb.{unique}'
        self.dir = tmp_path
        self.conf: dict[str, Any] = {}
        self.workers: list[WorkerProgram] = []
        self.client = Celery(f'wb-client-{unique}', broker=broker_url, backend=RESULT_BACKEND_DB,
                             set_as_current=False)
        self.client.conf.result_backend_transport_options = {'global_keyprefix': unique}
        self.client.conf.task_default_queue = self.queue

    def env(self, **conf: Any) -> dict[str, str]:
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join([str(HERE), str(REPO), env.get('PYTHONPATH', '')])
        env['CELERY_BROKER_URL'] = self.broker_url
        env['WORKER_TEST_QUEUE'] = self.queue
        env['WORKER_TEST_PREFIX'] = self.unique
        env['WORKER_TEST_DIR'] = str(self.dir)
        env['WORKER_TEST_CONF'] = json.dumps({**self.conf, **conf})
        env.pop('CELERY_CONFIG_MODULE', None)
        env.pop('CELERY_RESULT_BACKEND', None)
        return env

    def start(self, *args: str, ready: bool = True, conf: dict[str, Any] | None = None,
              broker_url: str | None = None,
              environ: dict[str, str] | None = None) -> WorkerProgram:
        """Start a worker (``BASE_ARGS`` + ``args``); wait for ``ready.`` unless told not to."""
        env = self.env(**(conf or {}))
        env.update(environ or {})
        if broker_url:
            env['CELERY_BROKER_URL'] = broker_url
        worker = WorkerProgram([*BASE_ARGS, '-n', f'wb{self.unique}{len(self.workers)}@%h',
                                *args], env, self.dir)
        self.workers.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    def send(self, name: str, args: tuple = (), **options: Any) -> Any:
        """Send ``workerapp.<name>`` by name to the test queue."""
        options.setdefault('queue', self.queue)
        return self.client.send_task(f'workerapp.{name}', args, **options)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Lines recorded by the worker's signal handlers and tasks."""
        path = self.dir / 'events.jsonl'
        if not path.exists():
            return []
        complete = path.read_text().rpartition('\n')[0]  # a line may be half written
        lines = [json.loads(line) for line in complete.splitlines() if line.strip()]
        return [e for e in lines if kind is None or e['kind'] == kind]

    def wait_events(self, kind: str, count: int = 1, timeout: float = 15.0,
                    **match: Any) -> list[dict[str, Any]]:
        """Wait until ``count`` events of ``kind`` matching ``match`` were recorded."""
        def found() -> list[dict[str, Any]]:
            return [e for e in self.events(kind)
                    if all(e.get(k) == v for k, v in match.items())]
        assert wait_for(lambda: len(found()) >= count, timeout=timeout), \
            f'{count} {kind} {match} not recorded: {self.events()}'
        return found()

    def publish_raw(self, body: Any, headers: dict, content_type: str = 'application/json',
                    queue: str | None = None, **properties: Any) -> None:
        """Publish an arbitrary message to the test queue."""
        from kombu import Connection, Exchange, Producer, Queue
        name = queue or self.queue
        with Connection(self.broker_url) as conn:
            producer = Producer(conn.default_channel)
            producer.publish(body, routing_key=name, headers=headers, content_type=content_type,
                             content_encoding='utf-8', serializer=None,
                             declare=[Queue(name, Exchange(name), routing_key=name)],
                             **properties)

    def queue_size(self, name: str | None = None) -> int:
        """Messages ready in a queue (not counting unacked ones)."""
        with self.client.connection_for_write() as conn:
            channel = conn.default_channel
            if conn.transport.driver_type == 'redis':
                return sum(channel.client.llen(channel._q_for_pri(name or self.queue, pri))
                           for pri in channel.priority_steps)
            _, count, _ = channel.queue_declare(name or self.queue, passive=True)
            return count

    def close(self) -> None:
        for worker in self.workers:  # all stop at once, then each is waited for
            if worker.proc.poll() is None:
                worker.signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.stop()
            finally:
                worker.kill_tree()
        self.client.close()


@pytest.fixture
def scenario(broker_url: str, unique: str, tmp_path: Path) -> Iterator[Scenario]:
    """A worker scenario on the parametrized broker."""
    env = Scenario(broker_url, unique, tmp_path)
    yield env
    env.close()

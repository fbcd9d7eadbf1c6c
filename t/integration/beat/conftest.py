"""Run beat as a real process against the real brokers and read what it sent."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Connection, Queue
from kombu.exceptions import ChannelError

from t.integration.proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[3]

PROJECT = '''
import time
from celery import Celery
from celery.beat import BeatLazyFunc

app = Celery({name!r}, broker={broker!r})
app.conf.update(result_backend=None, result_expires=None, beat_max_loop_interval=1,
                broker_connection_retry_on_startup=True)
app.conf.beat_schedule = {{
    'tick': {{'task': 'beatproj.tick', 'schedule': {seconds!r},
              'args': (BeatLazyFunc(time.time),), 'options': {{'queue': {queue!r}}}}},
}}


@app.task(name='beatproj.tick')
def tick(stamp):
    with open({ran_log!r}, 'a') as log:
        log.write(f'{{stamp}}\\n')
'''

SERVICE_RUNNER = '''
import sys
sys.path.insert(0, {project_dir!r})
from {module} import app
from celery import platforms
from celery.beat import Service
service = Service(app, schedule_filename={schedule!r})
def stop(signum, frame):
    raise SystemExit()
platforms.signals.update(SIGTERM=stop, SIGINT=stop)
import time
print('service starting at', time.time(), flush=True)
service.start()
'''


class BeatProject:
    """A generated project module plus helpers to run beat and count its messages."""

    def __init__(self, tmp_path: Path, unique: str, broker: str, seconds: float) -> None:
        self.dir = tmp_path
        self.module = f'beatproj_{unique}'
        self.queue = f'beat-it-{unique}'
        self.broker = broker
        self.schedule = str(tmp_path / 'celerybeat-schedule')
        self.ran_log = tmp_path / 'ran.log'
        (tmp_path / f'{self.module}.py').write_text(PROJECT.format(
            name=self.module, broker=broker, seconds=seconds, queue=self.queue,
            ran_log=str(self.ran_log)))
        self.env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{ROOT}')

    def start_cli(self) -> subprocess.Popen:
        cmd = [sys.executable, '-m', 'celery', '-A', self.module, 'beat', '-l', 'info',
               '-s', self.schedule, '--max-interval', '1']
        return subprocess.Popen(cmd, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def start_service(self) -> subprocess.Popen:
        code = SERVICE_RUNNER.format(project_dir=str(self.dir), module=self.module,
                                     schedule=self.schedule)
        return subprocess.Popen([sys.executable, '-c', code], cwd=self.dir, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start_worker(self) -> subprocess.Popen:
        cmd = [sys.executable, '-m', 'celery', '-A', self.module, 'worker', '-l', 'info',
               '-P', 'solo', '-Q', self.queue, '--without-mingle', '--without-gossip',
               '--without-heartbeat', '-n', f'{self.module}@%h']
        return subprocess.Popen(cmd, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def executed(self) -> list[float]:
        """Send times of the runs the worker executed, in order."""
        if not self.ran_log.exists():
            return []
        return sorted(float(line) for line in self.ran_log.read_text().split())

    @staticmethod
    def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=5)
        return out

    def declare(self, url: str) -> None:
        with Connection(url) as conn:
            Queue(self.queue, routing_key=self.queue)(conn.default_channel).declare()

    def count(self, url: str) -> int:
        """How many messages wait in the queue (they stay there)."""
        with Connection(url) as conn:
            queue = Queue(self.queue, routing_key=self.queue)(conn.default_channel)
            try:
                return queue.queue_declare(passive=True).message_count
            except ChannelError:  # Redis: an empty queue has no list, so "no such queue"
                return 0

    @staticmethod
    def service_started_at(output: str) -> float:
        """When a service process (``start_service``) started its loop, from its output."""
        for line in output.splitlines():
            if line.startswith('service starting at '):
                return float(line.rsplit(' ', 1)[1])
        raise AssertionError(f'the service never started:\n{output}')

    def drain(self, url: str) -> list[float]:
        """Return the send times carried by the messages in the queue (and remove them)."""
        stamps = []
        with Connection(url) as conn:
            queue = Queue(self.queue, routing_key=self.queue)(conn.default_channel)
            while True:
                message = queue.get(no_ack=True)
                if message is None:
                    break
                assert message.headers['task'] == 'beatproj.tick'
                args, kwargs, embed = json.loads(message.body)
                stamps.append(args[0])
            queue.delete()
        return sorted(stamps)


@pytest.fixture
def beat_project(tmp_path, unique):
    def factory(broker: str, seconds: float = 1.0) -> BeatProject:
        return BeatProject(tmp_path, unique, broker, seconds)
    return factory


@pytest.fixture
def proxy_factory():
    proxies = []

    def factory(port: int) -> TcpProxy:
        proxy = TcpProxy(port)
        proxy.up()
        proxies.append(proxy)
        return proxy
    yield factory
    for proxy in proxies:
        proxy.down()


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False

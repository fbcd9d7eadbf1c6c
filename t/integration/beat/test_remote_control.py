"""beat_enable_remote_control: beat answers pings on RabbitMQ and Redis, and goes silent when stuck."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from celery import Celery
from celery.beat import Scheduler, Service

from .conftest import ROOT, wait_for


def make_app(broker_url: str, unique: str, **settings) -> Celery:
    app = Celery(f'beatrc-{unique}', broker=broker_url, set_as_current=False)
    settings.setdefault('beat_enable_remote_control', True)
    app.conf.update(result_backend=None, result_expires=None, beat_schedule={},
                    beat_scheduler='celery.beat:Scheduler', beat_max_loop_interval=0.2,
                    # Our own control exchange: other tests' pings never reach this beat.
                    control_exchange=f'beatrc-{unique}', **settings)
    return app


def replied(app: Celery, node: str) -> bool:
    replies = app.control.ping(destination=[node], timeout=1.0)
    return {node: {'ok': 'pong'}} in replies


@pytest.fixture
def run_beat():
    running = []

    def start(app: Celery, node: str, **kwargs) -> Service:
        service = Service(app, hostname=node, **kwargs)
        thread = threading.Thread(target=service.start, daemon=True)
        thread.start()
        running.append((service, thread))
        return service
    yield start
    for service, thread in running:
        service.stop()
        thread.join(10)


def test_beat_answers_ping(broker_url, unique, run_beat):
    app = make_app(broker_url, unique)
    node = f'celerybeat@{unique}'
    run_beat(app, node)
    assert wait_for(lambda: replied(app, node), timeout=20)


def test_remote_control_is_off_by_default(broker_url, unique, run_beat):
    app = make_app(broker_url, unique, beat_enable_remote_control=None)
    del app.conf['beat_enable_remote_control']
    assert app.conf.beat_enable_remote_control is False
    node = f'celerybeat@{unique}'
    service = run_beat(app, node)
    assert not replied(app, node)
    assert service.pidbox is None


class StuckScheduler(Scheduler):
    """A scheduler whose tick blocks until released, like a beat hung on a broken call."""

    released = threading.Event()

    def tick(self, *args, **kwargs) -> float:
        self.released.wait()
        return 0.2


def test_a_stuck_beat_stops_answering(broker_url, unique, run_beat):
    StuckScheduler.released = threading.Event()
    app = make_app(broker_url, unique, beat_remote_control_max_tick_age=1.5)
    node = f'celerybeat@{unique}'
    service = run_beat(app, node, scheduler_cls=StuckScheduler)
    try:
        # It answers while its last tick (beat's start) is recent, then goes silent.
        assert wait_for(lambda: service.pidbox is not None, 5)
        assert wait_for(lambda: not replied(app, node), timeout=20)
        assert service.pidbox.is_stale()
        StuckScheduler.released.set()
        assert wait_for(lambda: replied(app, node), timeout=20)
    finally:
        StuckScheduler.released.set()


def test_celery_inspect_ping_reaches_beat(broker_url, unique, tmp_path):
    module = f'beatrc_{unique}'
    (tmp_path / f'{module}.py').write_text(
        'from celery import Celery\n'
        f'app = Celery({module!r}, broker={broker_url!r})\n'
        'app.conf.update(result_backend=None, result_expires=None, beat_enable_remote_control=True,\n'
        f'                control_exchange={"beatrc-" + unique!r})\n')
    env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{ROOT}')
    beat = subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', module, 'beat', '-l', 'info', '--max-interval', '1',
         '-s', str(tmp_path / 'schedule')],
        cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def inspect_ping() -> str:
            return subprocess.run(
                [sys.executable, '-m', 'celery', '-A', module, 'inspect', 'ping', '--timeout', '1'],
                cwd=tmp_path, env=env, capture_output=True, text=True).stdout
        assert wait_for(lambda: 'celerybeat@' in inspect_ping(), timeout=40), inspect_ping()
    finally:
        beat.terminate()
        beat.communicate(timeout=15)

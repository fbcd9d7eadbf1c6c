"""The eventlet and gevent pools: a real ``celery worker -P <green>`` process."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from celery import Celery
from t.conftest import REDIS_URL

REPO = Path(__file__).resolve().parents[3]

PROJECT = '''
import time
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

app = Celery({name!r}, broker={broker!r}, backend={backend!r})
app.conf.update(task_default_queue={queue!r},
                result_backend_transport_options={{'global_keyprefix': {queue!r}}})

@app.task(name='green.sleep')
def sleep(seconds):
    time.sleep(seconds)
    return seconds

@app.task(name='green.limited', soft_time_limit=0.3)
def limited():
    try:
        time.sleep(5)
    except SoftTimeLimitExceeded:
        return 'soft limit reached'
'''


@pytest.fixture(params=['gevent', 'eventlet'])
def green_worker(request, tmp_path, unique, broker_url):
    # Checked without importing: eventlet hooks fork() in the importing process.
    if importlib.util.find_spec(request.param) is None:
        pytest.skip(f'{request.param} is not installed')
    name = f'greenproj_{unique}'
    queue = f'green-{unique}'
    (tmp_path / f'{name}.py').write_text(textwrap.dedent(PROJECT.format(
        name=name, broker=broker_url, backend=REDIS_URL, queue=queue)))
    env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{REPO}')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'celery', '-A', name, 'worker', '-P', request.param, '-c', '20',
         '-l', 'info', '-n', f'{request.param}-{unique}@%h', '--without-mingle',
         '--without-gossip'],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    app = Celery(name, broker=broker_url, backend=REDIS_URL, set_as_current=False)
    app.conf.update(task_default_queue=queue,
                    result_backend_transport_options={'global_keyprefix': queue})
    try:
        yield app, request.param
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        assert 'Traceback' not in out, out
        app.close()


def test_green_pool_runs_tasks_concurrently(green_worker):
    app, pool = green_worker
    start = time.monotonic()
    results = [app.send_task('green.sleep', (0.5,)) for _ in range(20)]
    assert [r.get(timeout=20) for r in results] == [0.5] * 20
    # Twenty half-second sleeps overlap in greenlets (first run includes start-up).
    assert time.monotonic() - start < 8, pool


def test_green_pool_soft_time_limit_and_remote_control(green_worker):
    app, pool = green_worker
    assert app.send_task('green.limited').get(timeout=20) == 'soft limit reached'
    replies = app.control.ping(timeout=2)
    assert replies and all(reply[node] == {'ok': 'pong'} for reply in replies
                           for node in reply), (pool, replies)

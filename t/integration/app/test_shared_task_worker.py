"""The Django project layout against a real worker and Redis.

``proj/celery.py`` makes the app, ``proj/__init__.py`` imports it, and
``proj/tasks.py`` only uses ``@shared_task``.  A separate client process (a
web process, say) imports the tasks module and calls the task through the
shared-task proxy: the message must go through the project's app to its
broker, and the result must come back from its backend without the
client naming an app.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
READY_TIMEOUT = 30.0

PROJ_INIT = '''\
from .celery import app as celery_app

__all__ = ('celery_app',)
'''

PROJ_CELERY = '''\
import os

from celery import Celery

app = Celery('proj')
app.conf.update(
    broker_url=os.environ['PROJ_BROKER'],
    result_backend=os.environ['PROJ_BACKEND'],
    task_default_queue=os.environ['PROJ_QUEUE'],
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks(['proj'])
'''

PROJ_TASKS = '''\
from celery import current_app, shared_task


@shared_task(bind=True)
def add(self, x, y):
    return {'sum': x + y, 'app': self.app.main, 'current': current_app.main}
'''

CLIENT = '''\
import json

from celery.result import AsyncResult
from proj.tasks import add

sent = add.delay(2, 3)
fetched = AsyncResult(sent.id)  # no app given: the current app's backend
print(json.dumps({'name': add.name, 'app': add.app.main, 'value': fetched.get(timeout=20)}))
'''


@pytest.fixture
def project(tmp_path: Path, redis_url: str, redis_backend_url: str,
            unique: str) -> tuple[Path, dict[str, str]]:
    package = tmp_path / 'proj'
    package.mkdir()
    (package / '__init__.py').write_text(PROJ_INIT)
    (package / 'celery.py').write_text(PROJ_CELERY)
    (package / 'tasks.py').write_text(PROJ_TASKS)
    (tmp_path / 'client.py').write_text(CLIENT)
    env = dict(os.environ, PROJ_BROKER=redis_url, PROJ_BACKEND=redis_backend_url,
               PROJ_QUEUE=f'shared-{unique}',
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    for name in ('CELERY_BROKER_URL', 'CELERY_RESULT_BACKEND', 'CELERY_CONFIG_MODULE'):
        env.pop(name, None)
    return tmp_path, env


def _wait_ready(proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if ' ready.' in log.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f'worker not ready (exit={proc.poll()}):\n{log.read_text()}')


@pytest.fixture
def worker(project: tuple[Path, dict[str, str]]):
    cwd, env = project
    log = cwd / 'worker.log'
    with log.open('w') as out:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'celery', '-A', 'proj', 'worker', '-c', '1', '-l', 'info',
             '--without-mingle', '--without-gossip', '--without-heartbeat',
             '-n', f'shared-{uuid.uuid4().hex[:12]}@%h'],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(proc, log)
        yield log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_shared_task_proxy_uses_the_project_app(project, worker) -> None:
    cwd, env = project
    done = subprocess.run([sys.executable, 'client.py'], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The client resolved the proxy through the project's app...
    assert seen['name'] == 'proj.tasks.add'
    assert seen['app'] == 'proj'
    # ...the worker ran it on the same app, and the result came back from
    # the project's Redis backend although the client named no app.
    assert seen['value'] == {'sum': 5, 'app': 'proj', 'current': 'proj'}
    assert 'proj.tasks.add' in worker.read_text()

"""The project of "First steps with Django", built from the page and run for real.

The page's files are written to a temporary directory, ``migrate`` creates
the SQLite database, ``celery -A proj worker`` and ``manage.py runserver``
run as the page says, and a request to the view saves a row whose task
(sent with ``delay_on_commit``) the worker then runs.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from t.integration.appenv import wait_for
from t.integration.django.guide import write_project
from t.integration.program.conftest import WorkerProcess
from t.servers import REDIS_BACKEND_URL, REDIS_URL

pytest.importorskip('django')
pytestmark = pytest.mark.timeout(180)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class CommandProcess(WorkerProcess):
    """Any command run in the project directory, its output watched like a worker's."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.args = command
        self.proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()


@pytest.fixture
def project(tmp_path: Path, unique: str) -> Path:
    root = write_project(tmp_path)
    # Test-only: a queue of the test's own, so parallel tests' workers on the
    # same broker never take these messages.
    with open(root / 'proj' / 'settings.py', 'a') as settings:
        settings.write(f'CELERY_TASK_DEFAULT_QUEUE = {f"django-{unique}"!r}\n')
    return root


@pytest.fixture
def env() -> dict[str, str]:
    env = dict(os.environ, BROKER_URL=REDIS_URL, RESULT_BACKEND=REDIS_BACKEND_URL)
    for name in ('CELERY_BROKER_URL', 'CELERY_RESULT_BACKEND', 'DJANGO_SETTINGS_MODULE',
                 'CELERY_CONFIG_MODULE', 'PYTHONPATH'):
        env.pop(name, None)
    return env


def manage(project: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, 'manage.py', *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture
def spawn(project: Path, env: dict[str, str]):
    """Start commands in the project directory; all are stopped at the end."""
    running: list[CommandProcess] = []

    def start(*command: str) -> CommandProcess:
        running.append(CommandProcess([sys.executable, *command], env, project))
        return running[-1]
    yield start
    for process in running:
        process.stop()


def test_guide_project_runs_shared_task_sent_on_commit(project, env, spawn):
    manage(project, env, 'makemigrations', 'demoapp')
    manage(project, env, 'migrate')

    worker = spawn('-m', 'celery', '-A', 'proj', 'worker', '-l', 'INFO', '-c', '1')
    worker.wait_ready(timeout=60)
    # Autodiscovery found the Django app's shared tasks.
    for name in ('demoapp.tasks.add', 'demoapp.tasks.make_ready', 'proj.celery.debug_task'):
        assert f'. {name}' in worker.output

    port = _free_port()
    server = spawn('manage.py', 'runserver', '--noreload', str(port))
    url = f'http://127.0.0.1:{port}/widgets/?name=first'
    body = wait_for(lambda: _get(url), timeout=60, interval=0.2)
    assert body is not None, server.output
    response = json.loads(body)
    assert response['ready'] is False

    database = project / 'db.sqlite3'
    assert wait_for(lambda: _widget_ready(database, response['id']), timeout=30), (
        worker.output)
    worker.wait_for(r'Task demoapp\.tasks\.make_ready\[.*\] succeeded.*first')

    # The shell example of the page: a shared task and its result.
    out = manage(project, env, 'shell', '-c',
                 'from demoapp.tasks import add; print(add.delay(2, 2).get(timeout=10))')
    assert out.strip().splitlines()[-1] == '4'


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.read().decode()
    except OSError:
        return None


def _widget_ready(database: Path, widget_id: int) -> bool:
    with sqlite3.connect(database) as conn:
        row = conn.execute('SELECT ready FROM demoapp_widget WHERE id = ?',
                           (widget_id,)).fetchone()
    return bool(row and row[0])

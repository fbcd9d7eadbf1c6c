"""Flower monitors a running worker: its HTTP API shows the workers and the tasks they ran."""
from __future__ import annotations

import json
import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from t.integration.appenv import wait_for
from t.integration.django.test_first_steps import CommandProcess
from t.servers import AMQP_URL, REDIS_BACKEND_URL

pytest.importorskip('flower')
pytestmark = pytest.mark.timeout(180)

PROJ = '''
from celery import Celery

app = Celery('proj', broker={broker!r}, backend={backend!r})
app.conf.update(task_default_queue={queue!r}, worker_send_task_events=True,
                task_send_sent_event=True)


@app.task(name='proj.add')
def add(x, y):
    return x + y
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> object | None:
    """The decoded JSON body of ``url``; None while Flower is not answering yet."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _get_text(url: str) -> str:
    """A page of Flower's web UI (it must answer 200)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


@pytest.fixture
def project(tmp_path: Path, unique: str) -> Path:
    (tmp_path / 'proj.py').write_text(PROJ.format(
        broker=AMQP_URL, backend=REDIS_BACKEND_URL, queue=f'flower-{unique}'))
    return tmp_path


@pytest.fixture
def spawn(project: Path):
    """Start ``celery -A proj ...`` commands; all are stopped at the end."""
    env = dict(os.environ, PYTHONPATH=str(project))
    for name in ('CELERY_BROKER_URL', 'CELERY_RESULT_BACKEND', 'DJANGO_SETTINGS_MODULE',
                 'CELERY_CONFIG_MODULE', 'FLOWER_UNAUTHENTICATED_API'):
        env.pop(name, None)
    # Flower 2 answers its API only to authenticated users unless told otherwise.
    env['FLOWER_UNAUTHENTICATED_API'] = 'true'
    running: list[CommandProcess] = []

    def start(*args: str) -> CommandProcess:
        command = [sys.executable, '-m', 'celery', '-A', 'proj', *args]
        running.append(CommandProcess(command, env, project))
        return running[-1]
    yield start
    for process in running:
        process.stop()


def test_flower_api_shows_workers_and_tasks(project: Path, spawn, unique: str) -> None:
    node = f'flower-{unique}@%h'
    worker = spawn('worker', '-E', '-l', 'INFO', '-c', '1', '-P', 'solo', '-n', node)
    worker.wait_ready(timeout=60)
    port = _free_port()
    flower = spawn('flower', f'--port={port}', '--address=127.0.0.1')
    base = f'http://127.0.0.1:{port}'
    assert wait_for(lambda: _get_json(f'{base}/api/task/types'), timeout=60,
                    interval=0.2) is not None, flower.output

    sys.path.insert(0, str(project))
    try:
        from proj import add
        results = [add.delay(i, i) for i in range(3)]
        assert [r.get(timeout=30) for r in results] == [0, 2, 4]
    finally:
        sys.path.remove(str(project))
        sys.modules.pop('proj', None)
    ids = {r.id for r in results}

    def tasks_listed() -> dict | None:
        tasks = _get_json(f'{base}/api/tasks?taskname=proj.add')
        if tasks and ids <= set(tasks) and all(
                tasks[i]['state'] == 'SUCCESS' for i in ids):
            return tasks
        return None
    tasks = wait_for(tasks_listed, timeout=60, interval=0.5)
    assert tasks, (_get_json(f'{base}/api/tasks'), flower.output)
    worker_name = tasks[results[0].id]['worker']
    assert worker_name.startswith(f'flower-{unique}@')

    info = _get_json(f'{base}/api/task/info/{results[2].id}')
    assert info['state'] == 'SUCCESS' and info['name'] == 'proj.add'
    assert info['worker'] == worker_name and info['result'] == '4'
    assert info['args'] in ('[2, 2]', '(2, 2)')

    def worker_listed() -> dict | None:
        workers = _get_json(f'{base}/api/workers?workername={worker_name}&refresh=1')
        return workers if workers and workers.get(worker_name, {}).get('stats') else None
    workers = wait_for(worker_listed, timeout=60, interval=0.5)
    assert workers, flower.output
    stats = workers[worker_name]['stats']
    assert stats['total'].get('proj.add') == 3, stats
    assert 'proj.add' in workers[worker_name]['registered']
    status = _get_json(f'{base}/api/workers?status=1')
    assert status[worker_name] is True
    assert 'proj.add' in _get_json(f'{base}/api/task/types')['task-types']

    # The web pages: the task list (a datatable fed by JSON), a task, the workers.
    table = _get_json(f'{base}/tasks/datatable?draw=1&start=0&length=100'
                      '&search%5Bvalue%5D=proj.add&order%5B0%5D%5Bcolumn%5D=0'
                      '&columns%5B0%5D%5Bdata%5D=received&order%5B0%5D%5Bdir%5D=desc')
    rows = {row['uuid']: row for row in table['data']}
    assert ids <= set(rows) and rows[results[0].id]['worker'] == worker_name
    assert results[1].id in _get_text(f'{base}/task/{results[1].id}')
    listed = _get_json(f'{base}/workers?json=1')['data']
    assert worker_name in {row['hostname'] for row in listed}
    assert 'proj.add' in _get_text(f'{base}/worker/{worker_name}')

"""``_start_worker_process``: a real worker in its own process, started like ``celery multi``."""
from __future__ import annotations

import importlib
import os
import sys
import time
from types import ModuleType

import pytest

from celery.contrib.testing.worker import _start_worker_process
from celery.exceptions import OperationalError
from t.conftest import AMQP_URL, REDIS_URL

MODULE = 't.integration.contrib.procapp'


@pytest.fixture
def procapp(request: pytest.FixtureRequest, unique: str) -> ModuleType:
    """A fresh ``procapp`` for this test, importable by name in the worker process."""
    broker = getattr(request, 'param', AMQP_URL)
    saved = {key: os.environ.get(key) for key in ('PROC_UNIQUE', 'PROC_BROKER')}
    os.environ.update(PROC_UNIQUE=unique, PROC_BROKER=broker)
    sys.modules.pop(MODULE, None)
    module = importlib.import_module(MODULE)
    yield module
    module.app.close()
    sys.modules.pop(MODULE, None)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.mark.parametrize('procapp', [AMQP_URL, REDIS_URL], ids=['amqp', 'redis'],
                         indirect=True)
def test_worker_process_runs_tasks_and_stops(procapp: ModuleType) -> None:
    app = procapp.app
    with _start_worker_process(app, loglevel='INFO') as node:
        assert node.alive()
        replies = app.control.ping(destination=[node.name], timeout=1.0, limit=1)
        assert replies == [{node.name: {'ok': 'pong'}}]
        assert procapp.add.delay(2, 3).get(timeout=10) == 5
        worker_pid = procapp.pid.delay().get(timeout=10)
        assert worker_pid == node.pid != os.getpid()
    assert not node.alive()
    assert app.control.ping(destination=[node.name], timeout=0.5) == []


def test_worker_process_takes_worker_options(procapp: ModuleType, unique: str) -> None:
    app = procapp.app
    queue = f'other-{unique}'
    with _start_worker_process(app, pool='prefork', concurrency=2, queues=queue,
                               hostname=f'opts-{unique}@localhost') as node:
        assert node.name == f'opts-{unique}@localhost'
        stats = app.control.inspect(destination=[node.name], timeout=2.0).stats()
        assert stats[node.name]['pool']['max-concurrency'] == 2
        assert procapp.add.apply_async((1, 1), queue=queue).get(timeout=10) == 2


def test_worker_process_that_cannot_start_reports_why(procapp: ModuleType) -> None:
    started = time.monotonic()
    with (pytest.raises(OperationalError, match='could not start'),
          _start_worker_process(procapp.app, app_path='no_such_module:app',
                                startup_timeout=10)):
        pass
    assert time.monotonic() - started < 10

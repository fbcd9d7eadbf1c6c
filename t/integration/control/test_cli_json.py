"""``celery status --json`` and ``inspect ping --json`` for scripts, against a real worker."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from celery.bin.celery import celery
from celery.platforms import EX_UNAVAILABLE
from t.integration.control.cluster import WorkerProcess, load_app


@pytest.fixture
def worker_app(broker_url: str, unique: str):
    app = load_app(broker_url, unique).app
    worker = WorkerProcess(broker_url, unique, f'json-{unique}', pool='solo')
    try:
        worker.wait_ready()
        yield app, worker.hostname
    finally:
        worker.stop()
        app.close()


def _run(app, *args: str):
    param = celery.params[0]
    previous, param.default = param.default, app
    try:
        return CliRunner().invoke(celery, list(args), catch_exceptions=False)
    finally:
        param.default = previous


def test_json_output_for_scripts(worker_app) -> None:
    app, hostname = worker_app
    for command in (('status',), ('inspect', 'ping')):
        result = _run(app, *command, '--json', '-t', '5', '-d', hostname)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {hostname: {'ok': 'pong'}}
    # No node replied: still one document on stdout, the error on stderr, exit 69.
    for command, empty in ((('status',), {}), (('inspect', 'ping'), {}),
                           (('control', 'enable_events'), [])):
        result = _run(app, *command, '--json', '-t', '0.3', '-d', 'ghost@nowhere')
        assert result.exit_code == EX_UNAVAILABLE, result.output
        assert json.loads(result.stdout) == empty
        assert 'No nodes replied' in result.stderr

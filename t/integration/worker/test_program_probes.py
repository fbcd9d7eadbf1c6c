"""``celery worker --metrics-port/--health-port``: the real program serves its probes."""
from __future__ import annotations

import socket

import pytest

from t.integration.worker.conftest import Scenario, wait_for
from t.integration.worker.test_probes import free_port, get, sample

pytest.importorskip('prometheus_client')
pytestmark = pytest.mark.timeout(120)


def test_cli_options_serve_metrics_and_probes(scenario: Scenario) -> None:
    port = free_port()
    worker = scenario.start('--metrics-port', str(port), '--health-port', str(port))
    assert scenario.send('add', (2, 2)).get(timeout=20) == 4
    assert wait_for(lambda: sample(get(port, '/metrics')[1], 'celery_tasks_succeeded_total',
                                   'workerapp.add') == 1, timeout=20), worker.output
    assert get(port, '/healthz') == (200, 'ok\n')
    assert get(port, '/readyz') == (200, 'ok\n')


def test_cli_port_in_use_stops_the_worker_with_a_clear_error(scenario: Scenario) -> None:
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = scenario.start('--metrics-port', str(port), ready=False)
        assert worker.wait(timeout=60) == 1
    assert f'Error: worker_metrics_port: port {port} on 127.0.0.1 is already in use' \
        in worker.output
    assert 'Traceback' not in worker.output

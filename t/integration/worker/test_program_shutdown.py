"""Warm and cold shutdown with ``acks_late``: no message is lost or run twice to completion."""
from __future__ import annotations

import signal
import time

import pytest

pytestmark = pytest.mark.timeout(120) if hasattr(pytest.mark, 'timeout') else []


def _ends(scenario, marker):
    return [e for e in scenario.events('end') if e['marker'] == marker]


def test_warm_shutdown_returns_reserved_messages(scenario):
    first = scenario.start('-c', '1', '--prefetch-multiplier', '4')
    results = [scenario.send('slow_late', (1.0, f'm{i}')) for i in range(3)]
    scenario.wait_events('start', marker='m0')
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    # The running task finished; the two only reserved went back to the queue.
    assert _ends(scenario, 'm0')
    assert results[0].get(timeout=5) == 'm0'
    assert scenario.queue_size() == 2
    scenario.start('-c', '2')
    assert [r.get(timeout=20) for r in results] == ['m0', 'm1', 'm2']
    for i in range(3):
        assert len(_ends(scenario, f'm{i}')) == 1


def test_cold_shutdown_redelivers_the_running_task(scenario):
    first = scenario.start('-c', '1')
    result = scenario.send('slow_late', (2.0, 'cold'))
    scenario.wait_events('start', marker='cold')
    first.signal(signal.SIGQUIT)
    assert first.wait(timeout=30) == 1
    assert not _ends(scenario, 'cold')
    scenario.start('-c', '1')
    assert result.get(timeout=20) == 'cold'
    assert len(scenario.events('start')) == 2 and len(_ends(scenario, 'cold')) == 1


@pytest.mark.parametrize('broker_url', ['redis'], indirect=True)
def test_soft_shutdown_lets_short_tasks_finish(scenario):
    worker = scenario.start('-c', '2', conf={'worker_soft_shutdown_timeout': 2.0})
    short = scenario.send('slow_late', (0.5, 'short'))
    long = scenario.send('slow_late', (30.0, 'long'))
    scenario.wait_events('start', marker='short')
    scenario.wait_events('start', marker='long')
    started = time.monotonic()
    worker.signal(signal.SIGQUIT)
    assert worker.wait(timeout=30) == 1
    assert time.monotonic() - started < 10
    assert 'Initiating Soft Shutdown, terminating in 2.0 seconds' in worker.output
    # The short task finished and was acknowledged; the long one was requeued.
    assert short.get(timeout=5) == 'short'
    assert not _ends(scenario, 'long')
    assert long.state == 'PENDING'
    assert scenario.queue_size() == 1

"""Beat against real RabbitMQ and Redis: deliveries, restarts and a broker outage."""
from __future__ import annotations

import signal
import time

import pytest

from .conftest import BeatProject


def gaps(stamps: list[float]) -> list[float]:
    return [b - a for a, b in zip(stamps, stamps[1:])]


def run_for(project: BeatProject, seconds: float, cli: bool = False,
            sig: int = signal.SIGTERM) -> str:
    proc = project.start_cli() if cli else project.start_service()
    time.sleep(seconds)
    assert proc.poll() is None, proc.communicate()[0]
    return project.stop(proc, sig)


def test_one_second_schedule_delivers_once_per_second(beat_project, broker_url):
    project = beat_project(broker_url, seconds=1.0)
    project.declare(broker_url)
    run_for(project, 5.0)
    stamps = project.drain(broker_url)
    assert 3 <= len(stamps) <= 5, stamps
    assert all(0.8 <= gap <= 1.5 for gap in gaps(stamps)), gaps(stamps)


def test_restart_neither_repeats_nor_forgets_a_run(beat_project, broker_url):
    project = beat_project(broker_url, seconds=2.0)
    project.declare(broker_url)
    run_for(project, 3.0, sig=signal.SIGKILL)  # one run at ~2s, then a crash
    first = project.drain(broker_url)
    project.declare(broker_url)
    time.sleep(2.5)  # the next due time passes while beat is down
    restarted_at = time.time()
    run_for(project, 3.0)
    second = project.drain(broker_url)
    assert len(first) == 1, first
    # The missed run is sent once, promptly, then the schedule continues.
    assert second and second[0] - restarted_at < 1.8, (restarted_at, second)
    assert all(gap >= 1.8 for gap in gaps(second)), gaps(second)


def test_broker_outage_is_survived(beat_project, redis_url, proxy_factory):
    proxy = proxy_factory(6379)
    proxied = f'redis://127.0.0.1:{proxy.port}/0'
    project = beat_project(proxied, seconds=1.0)
    project.declare(redis_url)
    proc = project.start_service()
    try:
        time.sleep(3.0)
        proxy.down()
        time.sleep(3.0)
        during = project.drain(redis_url)
        project.declare(redis_url)
        proxy.up()
        time.sleep(4.0)
        assert proc.poll() is None
    finally:
        out = project.stop(proc)
    after = project.drain(redis_url)
    assert during, out
    assert after, out
    # At most one catch-up message for the outage, then one per second again.
    assert all(gap >= 0.8 for gap in gaps(after)), gaps(after)


def test_cli_beat_runs_the_schedule(beat_project, amqp_url):
    pytest.importorskip('celery.app.log')
    project = beat_project(amqp_url, seconds=1.0)
    project.declare(amqp_url)
    out = run_for(project, 4.0, cli=True)
    stamps = project.drain(amqp_url)
    assert 'celery beat v' in out and 'LocalTime ->' in out
    assert 2 <= len(stamps) <= 4, (stamps, out)


def test_worker_executes_each_run_once_across_a_beat_restart(beat_project, broker_url):
    project = beat_project(broker_url, seconds=1.0)
    project.declare(broker_url)
    worker = project.start_worker()
    try:
        first_beat = run_for(project, 3.5, cli=True)
        time.sleep(0.5)
        run_for(project, 3.5, cli=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(project.executed()) < 4:
            time.sleep(0.2)
    finally:
        worker_log = project.stop(worker)
    ran = project.executed()
    # 2-3 runs per beat process (start-up is slower on a loaded machine),
    # and none repeated around the restart.
    assert 4 <= len(ran) <= 8, (ran, first_beat, worker_log[-3000:])
    assert all(gap >= 0.8 for gap in gaps(ran)), gaps(ran)


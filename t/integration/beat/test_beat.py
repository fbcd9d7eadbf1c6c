"""Beat against real RabbitMQ and Redis: deliveries, restarts and a broker outage."""
from __future__ import annotations

import signal
import time

import pytest

from t.servers import server_port, via_local_port

from .conftest import BeatProject, wait_for


def gaps(stamps: list[float]) -> list[float]:
    return [b - a for a, b in zip(stamps, stamps[1:])]


def run_until_sent(project: BeatProject, url: str, messages: int,
                   sig: int = signal.SIGTERM, timeout: float = 60.0) -> str:
    """Run the beat service until ``messages`` wait in the queue; return its output."""
    proc = project.start_service()
    sent = wait_for(lambda: project.count(url) >= messages, timeout)
    out = project.stop(proc, sig)
    assert sent, out
    return out


def test_one_second_schedule_delivers_once_per_second(beat_project, broker_url):
    project = beat_project(broker_url, seconds=1.0)
    project.declare(broker_url)
    run_until_sent(project, broker_url, 4)
    stamps = project.drain(broker_url)
    assert len(stamps) >= 4, stamps
    # Never twice within a period, never a period skipped (a late tick on a
    # loaded machine only stretches its own gap: the next is due a period later).
    assert all(0.8 <= gap < 2.0 for gap in gaps(stamps)), gaps(stamps)


def test_restart_neither_repeats_nor_forgets_a_run(beat_project, broker_url):
    period = 5.0
    project = beat_project(broker_url, seconds=period)
    project.declare(broker_url)
    run_until_sent(project, broker_url, 1, sig=signal.SIGKILL)  # one run, then a crash
    first = project.drain(broker_url)
    project.declare(broker_url)
    time.sleep(period + 0.5)  # the next due time passes while beat is down
    out = run_until_sent(project, broker_url, 2)
    second = project.drain(broker_url)
    assert len(first) == 1, first
    # The missed run is sent as soon as the restarted service loops (a forgotten
    # run would wait a whole period), once (a repeat would follow at once).
    started_at = project.service_started_at(out)
    assert second[0] - started_at < period / 2, (started_at, second)
    assert all(gap >= period / 4 for gap in gaps(second)), gaps(second)


def test_broker_outage_is_survived(beat_project, redis_url, proxy_factory):
    proxy = proxy_factory(server_port(redis_url, 6379))
    proxied = via_local_port(redis_url, proxy.port)
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
    proc = project.start_cli()
    sent = wait_for(lambda: project.count(amqp_url) >= 2, 60)
    out = project.stop(proc)
    assert sent, out
    stamps = project.drain(amqp_url)
    assert 'celery beat v' in out and 'LocalTime ->' in out
    assert all(gap >= 0.8 for gap in gaps(stamps)), (stamps, out)


def test_worker_executes_each_run_once_across_a_beat_restart(beat_project, broker_url):
    project = beat_project(broker_url, seconds=1.0)
    project.declare(broker_url)
    worker = project.start_worker()
    try:
        # Each beat process runs until the worker has executed two of its runs
        # (however slow start-up is on a loaded machine), then stops.
        first_beat = project.start_cli()
        assert wait_for(lambda: len(project.executed()) >= 2, 60), project.stop(first_beat)
        first_beat_out = project.stop(first_beat)
        before_restart = len(project.executed())
        second_beat = project.start_cli()
        assert wait_for(lambda: len(project.executed()) >= before_restart + 2, 60), \
            project.stop(second_beat)
        project.stop(second_beat)
    finally:
        worker_log = project.stop(worker)
    ran = project.executed()
    # No run is sent twice around the restart: consecutive runs stay a period apart.
    assert len(ran) >= 4, (ran, first_beat_out, worker_log[-3000:])
    assert all(gap >= 0.8 for gap in gaps(ran)), gaps(ran)


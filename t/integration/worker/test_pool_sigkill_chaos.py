"""A prefork worker whose children are SIGKILLed in a loop under load loses no task.

acks_late with reject_on_worker_lost: the message of a task whose child is
killed goes back to the queue and runs again, so after a minute of killing
every task sent has succeeded and the pool still has all of its children.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any

import pytest

from celery import states
from celery.worker import state as worker_state
from t.integration.worker.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CHAOS_SECONDS = float(os.environ.get('POOL_CHAOS_SECONDS', 60))
PROCESSES = 3
IN_FLIGHT = 24
#: Longest time without the oldest task in flight finishing that is not "stuck".
STALL_LIMIT = 10.0


def define_tasks(app: Any) -> None:
    @app.task(name='chaos.work', acks_late=True, reject_on_worker_lost=True)
    def work(i: int, seconds: float) -> int:
        time.sleep(seconds)
        return i


@pytest.mark.parametrize('broker_url', ['redis'], indirect=True)
def test_sigkilling_children_in_a_loop_loses_no_task(make_app, run_worker):
    app = make_app(worker_prefetch_multiplier=4, result_expires=600)
    define_tasks(app)
    worker = run_worker(app, concurrency=PROCESSES).worker
    work = app.tasks['chaos.work']
    rng = random.Random(4)
    results: list[Any] = []
    stop = threading.Event()
    kills: list[int] = []

    def chaos() -> None:
        # Each kill lands at a random moment of the job some child is running.
        # Only children running a job: on a loaded machine a child killed while
        # it still starts up (before its first job) only measures fork speed.
        while not stop.wait(rng.uniform(0.05, 0.5)):
            pids = sorted({request.worker_pid for request in list(worker_state.active_requests)
                           if request.worker_pid} & set(worker.pool.child_pids() or ()))
            if pids:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                    kills.append(1)
                except ProcessLookupError:
                    pass

    killer = threading.Thread(target=chaos, name='chaos', daemon=True)
    killer.start()
    deadline = time.monotonic() + CHAOS_SECONDS
    oldest = 0   # results before this one are ready
    last_progress = time.monotonic()
    longest_stall = 0.0
    try:
        while time.monotonic() < deadline:
            before = oldest
            while oldest < len(results) and results[oldest].ready():
                oldest += 1
            now = time.monotonic()
            if oldest > before or len(results) == oldest:
                last_progress = now
            longest_stall = max(longest_stall, now - last_progress)
            if len(results) - oldest < IN_FLIGHT:
                results.append(work.delay(len(results), rng.uniform(0.0, 0.1)))
            else:
                time.sleep(0.02)
    finally:
        stop.set()
        killer.join(5)
    # Every task sent ran to success, despite the kills.
    values = [result.get(timeout=60) for result in results]
    assert values == list(range(len(results)))
    assert all(result.state == states.SUCCESS for result in results)
    assert len(kills) >= CHAOS_SECONDS, len(kills)
    # Never stuck: the oldest task in flight finished within STALL_LIMIT
    # seconds all along (throughput itself depends on the machine's load: a
    # loaded CI run does a few hundred tasks a minute, an idle one thousands).
    assert longest_stall < STALL_LIMIT, (longest_stall, len(results))
    assert len(results) > CHAOS_SECONDS, len(results)
    # The pool recovered all of its children and keeps working.
    assert wait_for(lambda: len(worker.pool.child_pids() or ()) == PROCESSES, timeout=10)
    assert work.delay(-1, 0).get(timeout=10) == -1

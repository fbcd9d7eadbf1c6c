"""The prefork pool with real child processes and a kombu hub delivering callbacks."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from billiard.einfo import ExceptionInfo
from kombu.asynchronous import Hub

from celery import signals
from celery.concurrency.prefork import TaskPool
from celery.exceptions import (ImproperlyConfigured, SoftTimeLimitExceeded, Terminated,
                               TimeLimitExceeded, WorkerLostError)


def add(x: int, y: int) -> int:
    return x + y


def getpid() -> int:
    return os.getpid()


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def catch_soft_limit(seconds: float) -> str:
    try:
        time.sleep(seconds)
    except SoftTimeLimitExceeded:
        return 'soft limit hit'
    return 'finished'


_hog: list[bytes] = []


def allocate(megabytes: int) -> int:
    _hog.append(bytearray(megabytes * 1024 * 1024))
    return os.getpid()


def fail() -> None:
    raise KeyError('boom')


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Recorder:
    """Collects callbacks and the thread each ran in."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, int]] = []

    def __call__(self, kind: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            self.events.append((kind, args or kwargs, threading.get_ident()))
        return record

    def of(self, kind: str) -> list[Any]:
        return [value for k, value, _ in self.events if k == kind]

    def threads(self) -> set[int]:
        return {ident for _, _, ident in self.events}


def run_until(hub: Hub, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out waiting for the pool'
        hub.run_once()


def apply(pool: TaskPool, rec: Recorder, target: Callable[..., Any], *args: Any, **options: Any) -> None:
    pool.apply_async(target, args, callback=rec('result'), accept_callback=rec('accepted'),
                     error_callback=rec('error'), timeout_callback=rec('timeout'), **options)


def test_results_and_acks_run_in_the_hub_thread(make_pool, hub):
    pool = make_pool(2)
    rec = Recorder()
    for i in range(50):
        apply(pool, rec, add, i, 1)
    run_until(hub, lambda: len(rec.of('result')) == 50)
    assert sorted(r[0] for r in rec.of('result')) == [i + 1 for i in range(50)]
    accepted_pids = {a[0] for a in rec.of('accepted')}
    assert accepted_pids <= set(pool.info['processes'])
    assert rec.threads() == {threading.get_ident()}
    assert pool.info['writes']['total'] == 50


def test_without_hub_callbacks_wait_for_flush_in_consumer_thread(make_pool):
    pool = make_pool(2, register=False)
    rec = Recorder()
    for i in range(5):
        apply(pool, rec, add, i, i)
    deadline = time.monotonic() + 10
    while len(rec.of('result')) < 5:
        assert time.monotonic() < deadline
        pool.flush_callbacks()
        time.sleep(0.01)
    assert sorted(r[0] for r in rec.of('result')) == [0, 2, 4, 6, 8]
    assert rec.threads() == {threading.get_ident()}


def test_exception_in_target_is_reported_not_raised(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    apply(pool, rec, fail)
    apply(pool, rec, add, 1, 1)
    run_until(hub, lambda: len(rec.of('result')) == 1 and len(rec.of('error')) == 1)
    einfo = rec.of('error')[0][0]
    assert isinstance(einfo, ExceptionInfo)
    assert isinstance(einfo.exception, KeyError)


def test_soft_time_limit_raises_inside_the_job(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    apply(pool, rec, catch_soft_limit, 5, soft_timeout=0.5)
    run_until(hub, lambda: rec.of('result'), timeout=8)
    assert rec.of('result') == [('soft limit hit',)]
    assert rec.of('timeout') == [{'soft': True, 'timeout': 0.5}]


def test_hard_time_limit_kills_and_replaces_the_child(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    apply(pool, rec, sleep_then_pid, 30, timeout=0.5)
    run_until(hub, lambda: rec.of('accepted'))
    victim = rec.of('accepted')[0][0]
    run_until(hub, lambda: rec.of('error') and rec.of('timeout'), timeout=8)
    assert issubclass(rec.of("error")[0][0].type, TimeLimitExceeded)
    assert {'soft': False, 'timeout': 0.5} in rec.of('timeout')
    apply(pool, rec, getpid)
    run_until(hub, lambda: rec.of('result'), timeout=8)
    assert rec.of('result')[0][0] != victim


def test_max_tasks_per_child_recycles_without_losing_jobs(make_pool, hub):
    pool = make_pool(1, maxtasksperchild=1)
    rec = Recorder()
    for _ in range(3):
        apply(pool, rec, getpid)
    run_until(hub, lambda: len(rec.of('result')) == 3, timeout=15)
    assert len({r[0] for r in rec.of('result')}) == 3
    assert pool.info['max-tasks-per-child'] == 1


def test_max_memory_per_child_replaces_a_bloated_child(make_pool, hub):
    pool = make_pool(1, max_memory_per_child=400_000)
    rec = Recorder()
    apply(pool, rec, getpid)
    apply(pool, rec, getpid)
    run_until(hub, lambda: len(rec.of('result')) == 2)
    first, second = (r[0] for r in rec.of('result'))
    assert first == second
    apply(pool, rec, allocate, 500)
    apply(pool, rec, getpid)
    run_until(hub, lambda: len(rec.of('result')) == 4, timeout=15)
    bloated, after = (r[0] for r in rec.of('result')[2:])
    assert bloated == first
    assert after != first


def test_child_killed_mid_job_reports_worker_lost(make_pool, hub):
    pool = make_pool(1, lost_worker_timeout=0.2)
    rec = Recorder()
    apply(pool, rec, sleep_then_pid, 30)
    run_until(hub, lambda: rec.of('accepted'))
    # The accept message can be read before the child lets go of the shared
    # result-queue lock; a child killed in between takes that lock with it
    # (a billiard hazard this test is not about): let it get into the job.
    time.sleep(0.2)
    os.kill(rec.of('accepted')[0][0], signal.SIGKILL)
    run_until(hub, lambda: rec.of('error'), timeout=10)
    assert issubclass(rec.of("error")[0][0].type, WorkerLostError)
    apply(pool, rec, add, 2, 2)
    run_until(hub, lambda: rec.of('result'), timeout=10)
    assert rec.of('result') == [(4,)]


def test_a_running_job_is_reported_started_while_it_runs(make_pool, hub):
    # A start travels on the child's accept pipe, which the loop reads with
    # results and on a short timer: a long job is known as started soon
    # after the child started it (time_accepted is the child's clock).
    pool = make_pool(1)
    rec = Recorder()
    heard: list[float] = []
    pool.apply_async(sleep_then_pid, (3,), callback=rec('result'),
                     accept_callback=lambda pid, started: heard.append(time.monotonic() - started))
    run_until(hub, lambda: heard, timeout=10)
    assert heard[0] < 0.5
    assert not rec.of('result')


def test_each_start_is_reported_before_its_result(make_pool, hub):
    pool = make_pool(2)
    rec = Recorder()
    for i in range(40):
        apply(pool, rec, add, i, i)
    run_until(hub, lambda: len(rec.of('result')) == 40)
    seen = 0
    for kind, _, _ in rec.events:
        seen += {'accepted': 1, 'result': -1}.get(kind, 0)
        assert seen >= 0, 'a result came before its start'
    assert len(rec.of('accepted')) == 40


def test_a_job_killing_its_child_at_once_is_lost_not_run_again(make_pool, hub):
    # The child dies before the parent has read its start: the start is read
    # at its exit, so the job fails instead of going to another child.
    pool = make_pool(1)
    rec = Recorder()
    apply(pool, rec, kill_self)
    run_until(hub, lambda: rec.of('error'), timeout=10)
    assert issubclass(rec.of('error')[0][0].type, WorkerLostError)
    assert len(rec.of('accepted')) == 1
    apply(pool, rec, add, 2, 2)
    run_until(hub, lambda: rec.of('result'), timeout=10)
    assert rec.of('result') == [(4,)]
    assert len(rec.of('error')) == 1


def test_terminate_job_reports_terminated(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    apply(pool, rec, sleep_then_pid, 30)
    run_until(hub, lambda: rec.of('accepted'))
    pool.terminate_job(rec.of('accepted')[0][0], 'SIGTERM')
    run_until(hub, lambda: rec.of('error'), timeout=10)
    assert issubclass(rec.of("error")[0][0].type, Terminated)


def test_grow_and_shrink(make_pool, hub):
    pool = make_pool(1)
    pool.grow(2)
    assert pool.num_processes == 3
    run_until(hub, lambda: len(pool.info['processes']) == 3, timeout=10)
    pool.shrink(2)
    assert pool.num_processes == 1
    run_until(hub, lambda: len(pool.info['processes']) == 1, timeout=10)
    rec = Recorder()
    apply(pool, rec, add, 1, 2)
    run_until(hub, lambda: rec.of('result'))


def test_restart_replaces_children(make_pool, hub):
    pool = make_pool(2, allow_restart=True)
    before = set(pool.info['processes'])
    pool.restart()
    run_until(hub, lambda: not before & set(pool.info['processes'])
              and len(pool.info['processes']) == 2, timeout=10)


def test_restart_needs_pool_restarts_enabled(make_pool):
    pool = make_pool(1)
    with pytest.raises(ImproperlyConfigured, match='worker_pool_restarts'):
        pool.restart()


def test_stop_waits_for_running_jobs(make_pool, hub):
    pool = make_pool(2)
    rec = Recorder()
    for _ in range(2):
        apply(pool, rec, sleep_then_pid, 0.3)
    run_until(hub, lambda: len(rec.of('accepted')) == 2)
    pool.stop()
    assert len(rec.of('result')) == 2


def test_process_signals_are_sent_in_the_child(make_pool, hub, tmp_path):
    marks = tmp_path / 'marks'

    def on_init(**kwargs: Any) -> None:
        with open(marks, 'a') as fh:
            fh.write(f'init {os.getpid()}\n')

    def on_shutdown(pid: int, exitcode: int, **kwargs: Any) -> None:
        with open(marks, 'a') as fh:
            fh.write(f'shutdown {pid}\n')

    signals.worker_process_init.connect(on_init, weak=False)
    signals.worker_process_shutdown.connect(on_shutdown, weak=False)
    try:
        pool = make_pool(1)
        rec = Recorder()
        apply(pool, rec, getpid)
        run_until(hub, lambda: rec.of('result'))
        child = rec.of('result')[0][0]
        pool.stop()
    finally:
        signals.worker_process_init.disconnect(on_init)
        signals.worker_process_shutdown.disconnect(on_shutdown)
    lines = marks.read_text().split('\n')
    assert f'init {child}' in lines
    assert f'shutdown {child}' in lines


class Handed:
    """A request-like holder of the job handed to the pool."""

    def __init__(self, result: Any) -> None:
        import weakref
        self._apply_result = weakref.ref(result)


def test_jobs_no_child_started_can_be_taken_back(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    apply(pool, rec, sleep_then_pid, 0.5)
    run_until(hub, lambda: rec.of('accepted'))
    queued = [Handed(pool.apply_async(add, (i, 100), callback=rec('result'),
                                      accept_callback=rec('accepted')))
              for i in range(4)]
    # The child is busy: all four wait in the job pipe; take back two of them.
    taken = pool.take_back([queued[1], queued[3]])
    assert taken == [queued[1], queued[3]]
    run_until(hub, lambda: len(rec.of('result')) == 3)
    time.sleep(0.2)
    hub.run_once()
    # The others ran in their order; the taken ones never will.
    assert [r[0] for r in rec.of('result')[1:]] == [100, 102]
    assert len(rec.of('accepted')) == 3


def test_started_jobs_are_not_taken_back(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    running = Handed(pool.apply_async(sleep_then_pid, (0.3,), callback=rec('result'),
                                      accept_callback=rec('accepted')))
    run_until(hub, lambda: rec.of('accepted'))
    assert pool.take_back([running]) == []
    run_until(hub, lambda: rec.of('result'))


def test_take_back_with_an_idle_pool_returns_at_once(make_pool, hub):
    pool = make_pool(2)
    rec = Recorder()
    done = Handed(pool.apply_async(add, (1, 1), callback=rec('result')))
    run_until(hub, lambda: rec.of('result'))
    # Idle children wait for jobs holding the read lock: nothing to wait for.
    started = time.monotonic()
    assert pool.take_back([done]) == []
    assert time.monotonic() - started < 0.1


def test_pool_hands_each_child_a_queue_of_jobs(make_pool):
    pool = make_pool(3)
    assert pool.max_jobs_in_flight == 3 * 4

"""Killing prefork children at any moment stalls no other child and loses no job.

The pool gives each child its own job socket and result pipe: there is no
lock shared between children for a SIGKILL to take away.
"""
from __future__ import annotations

import os
import random
import signal
import threading
import time

from celery.concurrency.prefork import TaskPool
from celery.exceptions import WorkerLostError

from .test_prefork import Handed, Recorder, add, run_until, sleep_then_pid


def big_result(megabytes: int) -> bytes:
    return b'r' * (megabytes * 1024 * 1024)


def sleep_then_value(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def outcomes(rec: Recorder) -> int:
    return len(rec.of('result')) + len(rec.of('error'))


def test_a_child_killed_in_the_middle_of_writing_its_result_stalls_no_other(make_pool, hub):
    pool = make_pool(3)
    rec = Recorder()
    pool.apply_async(big_result, (4,), callback=rec('big'), error_callback=rec('error'),
                     accept_callback=rec('accepted'))
    # The hub does not run: the 4 MiB result fills the pipe and the child
    # blocks in the middle of writing it.
    deadline = time.monotonic() + 10
    writer = None
    while writer is None:
        assert time.monotonic() < deadline, 'the job never started'
        writer = _blocked_writer(pool)
        time.sleep(0.05)
    os.kill(writer, signal.SIGKILL)
    for i in range(30):
        pool.apply_async(add, (i, 1), callback=rec('result'), error_callback=rec('error'))
    run_until(hub, lambda: len(rec.of('result')) == 30 and rec.of('error'), timeout=15)
    assert sorted(r[0] for r in rec.of('result')) == [i + 1 for i in range(30)]
    assert issubclass(rec.of('error')[0][0].type, WorkerLostError)
    assert rec.of('big') == []
    run_until(hub, lambda: len(pool.info['processes']) == 3, timeout=10)


def _blocked_writer(pool: TaskPool) -> int | None:
    # The child whose state is "sleeping in pipe_write" after accepting its job.
    for pid in pool.child_pids() or ():
        try:
            with open(f'/proc/{pid}/wchan') as f:
                if 'pipe_write' in f.read():
                    return pid
        except OSError:
            continue
    return None


def test_children_killed_at_random_moments_never_stall_the_pool(make_pool, hub):
    pool = make_pool(3)
    rec = Recorder()
    jobs = 300
    rng = random.Random(15)
    for i in range(jobs):
        pool.apply_async(sleep_then_value, (rng.random() * 0.02, i), callback=rec('result'),
                         error_callback=rec('error'))
    stop = threading.Event()
    kills = []

    def chaos() -> None:
        while not stop.wait(rng.random() * 0.06):
            pids = sorted(pool.child_pids() or ())
            if pids:
                victim = rng.choice(pids)
                try:
                    os.kill(victim, signal.SIGKILL)
                    kills.append(victim)
                except ProcessLookupError:
                    pass
    killer = threading.Thread(target=chaos, daemon=True)
    killer.start()
    try:
        run_until(hub, lambda: outcomes(rec) >= jobs, timeout=60)
    finally:
        stop.set()
        killer.join(5)
    # Every job has exactly one outcome: its value, or the loss of the child running it.
    values = [r[0] for r in rec.of('result')]
    assert len(values) == len(set(values)) and outcomes(rec) == jobs
    assert all(issubclass(e[0].type, WorkerLostError) for e in rec.of('error'))
    assert len(kills) > 20
    # Still a full pool, and every child works.
    rec2 = Recorder()
    for _ in range(30):
        pool.apply_async(sleep_then_pid, (0.05,), callback=rec2('result'))
    run_until(hub, lambda: len(rec2.of('result')) == 30, timeout=20)
    assert len({r[0] for r in rec2.of('result')}) == 3


def test_a_job_written_ahead_to_a_busy_child_can_be_taken_back(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    running = Handed(pool.apply_async(sleep_then_value, (0.5, 'first'), callback=rec('result'),
                                      accept_callback=rec('accepted')))
    ahead = Handed(pool.apply_async(add, (1, 1), callback=rec('result'),
                                    accept_callback=rec('accepted')))
    behind = Handed(pool.apply_async(add, (2, 2), callback=rec('result'),
                                     accept_callback=rec('accepted')))
    run_until(hub, lambda: rec.of('accepted'))
    # The second and third jobs wait in the busy child's socket.
    assert pool.take_back([ahead, running]) == [ahead]
    run_until(hub, lambda: len(rec.of('result')) == 2)
    time.sleep(0.2)
    hub.run_once()
    assert [r[0] for r in rec.of('result')] == ['first', 4]
    assert pool.take_back([behind]) == []


def test_a_job_larger_than_a_datagram_runs_and_its_neighbours_too(make_pool, hub):
    pool = make_pool(1)
    rec = Recorder()
    big = b'j' * (1024 * 1024)
    pool.apply_async(sleep_then_value, (0.2, 1), callback=rec('result'))
    pool.apply_async(len, (big,), callback=rec('result'))
    pool.apply_async(add, (1, 2), callback=rec('result'))
    run_until(hub, lambda: len(rec.of('result')) == 3)
    assert [r[0] for r in rec.of('result')] == [1, len(big), 3]


def test_jobs_a_killed_child_never_started_run_in_another(make_pool, hub):
    pool = make_pool(2)
    rec = Recorder()
    pool.apply_async(sleep_then_pid, (30,), accept_callback=rec('accepted'),
                     error_callback=rec('error'))
    run_until(hub, lambda: rec.of('accepted'))
    victim = rec.of('accepted')[0][0]
    # Fill both children: two of these wait behind the long job in the victim's socket.
    for i in range(4):
        pool.apply_async(sleep_then_value, (0.2, i), callback=rec('result'))
    os.kill(victim, signal.SIGKILL)
    run_until(hub, lambda: len(rec.of('result')) == 4 and rec.of('error'), timeout=15)
    assert sorted(r[0] for r in rec.of('result')) == [0, 1, 2, 3]
    assert issubclass(rec.of('error')[0][0].type, WorkerLostError)


def test_jobs_queued_behind_a_long_job_move_to_a_child_that_ran_out_of_work(make_pool, hub):
    pool = make_pool(2)
    rec = Recorder()
    pool.apply_async(sleep_then_pid, (3,), callback=rec('long'), accept_callback=rec('accepted'))
    run_until(hub, lambda: rec.of('accepted'))
    long_pid = rec.of('accepted')[0][0]
    started = time.monotonic()
    # Handed out in turn: some wait in the socket of the child running the long job.
    for _ in range(6):
        pool.apply_async(sleep_then_pid, (0.05,), callback=rec('result'))
    run_until(hub, lambda: len(rec.of('result')) == 6, timeout=10)
    assert time.monotonic() - started < 2
    assert long_pid not in {r[0] for r in rec.of('result')}
    assert rec.of('long') == []


def test_a_shrunk_pool_gives_the_retired_childs_waiting_jobs_to_the_others(make_pool, hub):
    pool = make_pool(2)
    rec = Recorder()
    for _ in range(8):
        pool.apply_async(sleep_then_pid, (0.2,), callback=rec('result'),
                         accept_callback=rec('accepted'))
    run_until(hub, lambda: len(rec.of('accepted')) == 2)
    pool.shrink(1)
    run_until(hub, lambda: len(rec.of('result')) == 8, timeout=15)
    pids = [r[0] for r in rec.of('result')]
    # Each child finished the job it had started; the other six ran in the one left.
    assert len(set(pids)) == 2
    assert sorted(pids.count(pid) for pid in set(pids)) == [1, 7]
    run_until(hub, lambda: len(pool.info['processes']) == 1, timeout=10)

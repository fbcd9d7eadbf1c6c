"""Prefork jobs written from the hub thread and results read in batches."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kombu.asynchronous import Hub

from celery.concurrency.prefork import TaskPool


def echo(value: Any) -> Any:
    return value


def sized(n: int) -> bytes:
    return b'r' * n


@pytest.fixture
def pool(hub: Hub) -> Iterator[TaskPool]:
    task_pool = TaskPool(2)
    task_pool.start()
    task_pool.register_with_event_loop(hub)
    yield task_pool
    if task_pool._pool is not None:
        task_pool.terminate()


def run_until(hub: Hub, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out waiting for the pool'
        hub.run_once()


def test_small_and_oversized_jobs_and_results_all_complete(pool: TaskPool, hub: Hub):
    results: list[Any] = []
    errors: list[Any] = []
    big = b'j' * (300 * 1024)          # larger than the job pipe: goes through the thread
    jobs = [(echo, (i,)) for i in range(40)] + [(echo, (big,))] * 3 + \
        [(sized, (500 * 1024,))] * 3     # results larger than one read per wake-up
    for target, args in jobs:
        pool.apply_async(target, args, callback=results.append, error_callback=errors.append)
    run_until(hub, lambda: len(results) + len(errors) == len(jobs))
    assert not errors
    assert sorted(r for r in results if isinstance(r, int)) == list(range(40))
    assert sum(1 for r in results if r == big) == 3
    assert sum(1 for r in results if isinstance(r, bytes) and len(r) == 500 * 1024) == 3


def test_unpicklable_job_fails_alone(pool: TaskPool, hub: Hub):
    results: list[Any] = []
    errors: list[Any] = []
    pool.apply_async(echo, (threading.Lock(),), callback=results.append,
                     error_callback=errors.append)
    pool.apply_async(echo, ('after',), callback=results.append, error_callback=errors.append)
    run_until(hub, lambda: len(results) + len(errors) == 2)
    assert results == ['after']
    exc = errors[0].exception
    assert 'pickle' in str(getattr(exc, 'exc', exc))


def test_jobs_from_another_thread_still_run(pool: TaskPool, hub: Hub):
    results: list[Any] = []
    thread = threading.Thread(target=lambda: [
        pool.apply_async(echo, (i,), callback=results.append) for i in range(10)])
    thread.start()
    thread.join(10)
    run_until(hub, lambda: len(results) == 10)
    assert sorted(results) == list(range(10))


def sleep_briefly(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_more_jobs_than_the_pipe_holds_never_block_the_hub(pool: TaskPool, hub: Hub):
    results: list[Any] = []
    for _ in range(2):   # both children busy: nothing leaves the pipe for a while
        pool.apply_async(sleep_briefly, (0.5,), callback=results.append)
    payload = b'p' * 2048
    started = time.monotonic()
    for i in range(100):  # ~200 KiB of jobs: three times what the pipe holds
        pool.apply_async(echo, ((i, payload),), callback=results.append)
    assert time.monotonic() - started < 0.4   # the writes did not wait for the children
    run_until(hub, lambda: len(results) == 102)
    assert sorted(r[0] for r in results if isinstance(r, tuple)) == list(range(100))

"""The gevent drainer: one reader per consumer, and a failed drain reaches the waiters."""
from __future__ import annotations

import pytest

gevent = pytest.importorskip('gevent')

from celery.backends.asynchronous import GeventDrainer


class Promise:
    ready = False


class FakeConsumer:
    """Counts concurrent drains; fails on demand."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.draining = 0
        self.max_concurrent = 0
        self.rounds = 0

    def drain_events(self, timeout: float | None = None) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.draining += 1
        self.max_concurrent = max(self.max_concurrent, self.draining)
        gevent.sleep(0.01)
        self.rounds += 1
        self.draining -= 1


def test_concurrent_waiters_share_one_draining_greenlet() -> None:
    consumer = FakeConsumer()
    drainer = GeventDrainer(consumer)
    waiters = [gevent.spawn(drainer.wait_for, Promise(), None, timeout=1) for _ in range(5)]
    gevent.joinall(waiters, timeout=5)
    drainer._stopped = True
    assert all(w.successful() for w in waiters)
    assert consumer.rounds >= 1 and consumer.max_concurrent == 1


def test_a_failing_drain_is_raised_in_the_waiters() -> None:
    consumer = FakeConsumer(fail_with=ConnectionResetError('broker went away'))
    drainer = GeventDrainer(consumer)
    waiters = [gevent.spawn(drainer.wait_for, Promise(), None, timeout=5) for _ in range(3)]
    gevent.joinall(waiters, timeout=2)
    assert all(isinstance(w.exception, ConnectionResetError) for w in waiters)
    # The next wait starts a new drainer rather than sleeping forever.
    consumer.fail_with = None
    waiter = gevent.spawn(drainer.wait_for, Promise(), None, timeout=1)
    waiter.join(timeout=3)
    drainer._stopped = True
    assert waiter.successful() and consumer.rounds >= 1

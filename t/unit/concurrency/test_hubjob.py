"""JobDone: a job's done flag that builds an Event only for a waiter."""
from __future__ import annotations

import threading
import time

from celery.concurrency.hubjob import JobDone


def test_flag_without_waiters_builds_no_event():
    done = JobDone()
    assert not done.is_set()
    done.set()
    assert done.is_set() and done._event is None
    assert done.wait(0) is True


def test_waiter_is_woken_by_set_from_another_thread():
    done = JobDone()
    threading.Timer(0.05, done.set).start()
    started = time.monotonic()
    assert done.wait(5) is True
    assert time.monotonic() - started < 2


def test_wait_times_out_when_never_set():
    assert JobDone().wait(0.05) is False

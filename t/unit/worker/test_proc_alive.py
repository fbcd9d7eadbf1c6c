"""Pool children that never report being up are killed (worker_proc_alive_timeout)."""
from __future__ import annotations

import signal
from types import SimpleNamespace

import billiard

from celery.concurrency import proc_alive
from celery.concurrency.proc_alive import PROC_ALIVE_TIMEOUT, AliveWatch, report_alive


def make_watch(monkeypatch, timeout=None):
    watch = AliveWatch(billiard.get_context('fork'), timeout)
    killed: list = []
    monkeypatch.setattr(proc_alive.os, 'kill', lambda pid, sig: killed.append((pid, sig)))
    return watch, killed


def test_default_timeout_is_four_seconds(monkeypatch):
    watch, _ = make_watch(monkeypatch)
    assert watch.timeout == PROC_ALIVE_TIMEOUT == 4.0
    watch.close()


def test_a_child_that_reported_is_forgotten(monkeypatch):
    watch, killed = make_watch(monkeypatch, timeout=0)
    monkeypatch.setattr(proc_alive.os, 'getpid', lambda: 4242)
    watch.on_process_up(SimpleNamespace(pid=4242, exitcode=None))
    report_alive(watch.writer)
    assert watch.check() == []
    assert watch.pending() == [] and killed == []
    watch.close()


def test_a_silent_child_is_killed_after_the_timeout(monkeypatch):
    watch, killed = make_watch(monkeypatch, timeout=0)
    watch.on_process_up(SimpleNamespace(pid=777, exitcode=None))
    assert watch.check() == [777]
    assert killed == [(777, signal.SIGKILL)]
    assert watch.pending() == []
    watch.close()


def test_a_child_that_exited_is_left_to_billiard(monkeypatch):
    watch, killed = make_watch(monkeypatch, timeout=0)
    watch.on_process_up(SimpleNamespace(pid=778, exitcode=1))
    assert watch.check() == [] and killed == []
    watch.close()


def test_a_reaped_child_is_forgotten_and_a_closed_watch_checks_nothing(monkeypatch):
    watch, killed = make_watch(monkeypatch, timeout=100)
    process = SimpleNamespace(pid=779, exitcode=None)
    watch.on_process_up(process)
    assert watch.pending() == [779]
    watch.on_process_down(process)
    assert watch.pending() == []
    watch.close()
    assert watch.check() == []

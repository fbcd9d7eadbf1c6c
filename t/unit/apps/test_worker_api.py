"""The start-up and signal helpers of ``celery.apps.worker`` that plug-ins call."""
from __future__ import annotations

import io
import os
import threading

import pytest

from celery import platforms
from celery.apps import worker as program
from celery.exceptions import WorkerTerminate


@pytest.fixture
def installed(monkeypatch):
    """Record handlers installed through ``platforms.signals`` instead of installing them."""
    handlers: dict[str, object] = {}
    monkeypatch.setattr(program.platforms, 'signals', handlers)
    return handlers


@pytest.fixture(autouse=True)
def not_in_a_signal_handler(monkeypatch):
    # The handlers mark the process as inside a signal handler, which changes logging for later tests.
    monkeypatch.setattr(program, 'set_in_sighandler', lambda value: None)


class FakeWorker:
    hostname = 'w@test'
    exitcode = None


def test_constants():
    assert program.SHUTDOWN_SOCKET_TIMEOUT == 5.0
    assert program.REMAP_SIGTERM == os.environ.get('REMAP_SIGTERM')
    assert program.is_jython is False
    assert isinstance(program.is_pypy, bool)


def test_safe_say_writes_to_f():
    out = io.StringIO()
    program.safe_say('hello', out)
    program.safe_say('again', f=out)
    assert out.getvalue().split() == ['hello', 'again']


def test_active_thread_count_counts_live_threads():
    before = program.active_thread_count()
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert program.active_thread_count() == before + 1
    finally:
        release.set()
        thread.join()


def test_during_soft_shutdown_makes_every_stop_signal_hard(installed, capsys):
    program.during_soft_shutdown(FakeWorker())
    assert set(installed) == {'SIGTERM', 'SIGINT', 'SIGQUIT'}
    with pytest.raises(WorkerTerminate) as info:
        installed['SIGTERM'](15, None)
    assert info.value.code == platforms.EX_FAILURE


def test_on_cold_shutdown_installs_the_hard_handlers(installed):
    program.on_cold_shutdown(FakeWorker())
    assert set(installed) == {'SIGTERM', 'SIGINT', 'SIGQUIT'}


def test_on_hard_shutdown_raises():
    with pytest.raises(WorkerTerminate):
        program.on_hard_shutdown(FakeWorker())


def test_on_SIGINT_makes_the_next_ctrl_c_cold(installed):
    program.on_SIGINT(FakeWorker())
    assert installed['SIGINT'].__name__ == 'worker_Cold'


def test_install_HUP_not_supported_handler(installed, monkeypatch):
    said = []
    monkeypatch.setattr(program, 'safe_say', lambda msg, f=None: said.append(msg))
    program.install_HUP_not_supported_handler(FakeWorker())
    installed['SIGHUP'](1, None)
    assert said == ['SIGHUP not supported: Restarting with SIGHUP is unstable on this platform!']


def test_macOS_proxy_detection_workaround(monkeypatch):
    monkeypatch.delenv('celery_dummy_proxy', raising=False)
    program.Worker.macOS_proxy_detection_workaround(object.__new__(program.Worker))
    assert os.environ['celery_dummy_proxy'] == 'set_by_celeryd'


def test_platform_tweaks_on_macOS_do_not_restart_on_HUP(installed, monkeypatch, app):
    monkeypatch.setenv('celery_dummy_proxy', 'kept')
    worker = object.__new__(program.Worker)
    worker.app = app
    worker._isatty = False
    monkeypatch.setattr(type(app), 'IS_macOS', True, raising=False)
    worker.install_platform_tweaks(worker)
    assert installed['SIGHUP'].__name__ == 'warn_on_HUP_handler'
    assert os.environ['celery_dummy_proxy'] == 'kept'

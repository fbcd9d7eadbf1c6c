"""TestApp, the app trap and default-app restoration."""
from __future__ import annotations

import logging

import pytest

from celery import _state, shared_task
from celery.contrib.testing.app import (
    DEFAULT_TEST_CONFIG,
    TestApp,
    Trap,
    UnitLogging,
    set_trap,
    setup_default_app,
)


def test_default_config_keeps_everything_in_process() -> None:
    app = TestApp()
    assert app.conf.broker_url == 'memory://'
    assert app.conf.result_backend == 'cache+memory://'
    assert set(app.conf.accept_content) == {'json'}
    assert app.conf.enable_utc is True
    assert app.conf.timezone == 'UTC'
    assert app.conf.broker_heartbeat == 0
    assert app.conf.worker_hijack_root_logger is False
    assert app.conf.worker_log_color is False
    assert DEFAULT_TEST_CONFIG['broker_url'] == 'memory://'


def test_config_overrides_defaults_without_mutating_them() -> None:
    app = TestApp('mine', config={'task_default_queue': 'q1', 'timezone': 'Europe/Paris'})
    assert app.main == 'mine'
    assert app.conf.task_default_queue == 'q1'
    assert app.conf.timezone == 'Europe/Paris'
    assert DEFAULT_TEST_CONFIG['timezone'] == 'UTC'


def test_broker_and_backend_arguments_win_over_defaults() -> None:
    app = TestApp(broker='redis://example.invalid:1/0', backend='redis://example.invalid:1/1')
    assert app.conf.broker_url == 'redis://example.invalid:1/0'
    assert app.conf.result_backend == 'redis://example.invalid:1/1'


def test_test_app_has_the_ping_task() -> None:
    app = TestApp()
    assert app.tasks['celery.ping'].apply().get() == 'pong'


def test_unit_logging_never_configures_handlers() -> None:
    app = TestApp()
    assert isinstance(app.log, UnitLogging)
    root = logging.getLogger()
    before = list(root.handlers)
    assert app.log.setup(loglevel='DEBUG') is None
    assert root.handlers == before


def test_enable_logging_uses_the_regular_logging_class() -> None:
    app = TestApp(enable_logging=True)
    assert not isinstance(app.log, UnitLogging)


def test_trap_raises_with_a_hint() -> None:
    with pytest.raises(RuntimeError, match='depends_on_current_app'):
        _ = Trap().conf


def test_set_trap_catches_implicit_current_app_and_restores() -> None:
    app = TestApp()
    prev_current = _state.get_current_app()
    with set_trap(app), pytest.raises(RuntimeError, match='current_app'):
        _ = _state.get_current_app().conf
    assert _state.get_current_app() is prev_current


def test_setup_default_app_restores_current_default_and_finalizers() -> None:
    app = TestApp()
    prev_current, prev_default = _state._tls.current_app, _state.default_app
    prev_finalizers = set(_state._on_app_finalizers)
    with setup_default_app(app):
        app.set_current()
        app.set_default()

        @shared_task
        def added_in_block() -> None:
            """Registers a finalizer that must not outlive the block."""

        assert _state.get_current_app() is app
    assert _state._tls.current_app is prev_current
    assert _state.default_app is prev_default
    assert _state._on_app_finalizers == prev_finalizers


def test_setup_default_app_with_trap() -> None:
    app = TestApp()
    with setup_default_app(app, use_trap=True):
        with pytest.raises(RuntimeError):
            _ = _state.get_current_app().tasks
        app.set_current()  # what depends_on_current_app does
        assert _state.get_current_app() is app
    assert not isinstance(_state.get_current_app(), Trap)

"""A Celery app for tests (in-memory broker and backend) and the current-app trap."""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from celery import _state
from celery.app.base import Celery
from celery.app.log import Logging

if TYPE_CHECKING:
    from celery.backends.base import Backend

__all__ = (
    'DEFAULT_TEST_CONFIG',
    'TestApp',
    'Trap',
    'UnitLogging',
    'set_trap',
    'setup_default_app',
)

#: Configuration every test app starts from: nothing leaves the process.
DEFAULT_TEST_CONFIG: dict[str, Any] = {
    # Celery's test settings and values, kept for compatibility.
    'worker_hijack_root_logger': False,
    'worker_log_color': False,
    'accept_content': {'json'},
    'enable_utc': True,
    'timezone': 'UTC',
    'broker_url': 'memory://',
    'result_backend': 'cache+memory://',
    'broker_heartbeat': 0,
}

TRAP_MESSAGE = (
    'Test depends on current_app: the app trap is enabled (use_celery_app_trap), '
    'so nothing may fall back to the default or current app. Pass the app '
    'explicitly, or request the depends_on_current_app fixture in this test.'
)


class Trap:
    """Stand-in for the default app that raises as soon as anything touches it."""

    def __getattr__(self, name: str) -> Any:
        # unittest.mock and inspect probe these; answering keeps them working.
        if name in ('_is_coroutine', '__func__', '__wrapped__'):
            return None
        raise RuntimeError(TRAP_MESSAGE)


class UnitLogging(Logging):
    """App logging that never configures handlers (leaves pytest's capture alone)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Same arguments as Logging (the app); kept so subclasses can extend it.
        super().__init__(*args, **kwargs)

    @property
    def already_setup(self) -> bool:
        """Always set up: the test runner owns logging."""
        return True

    @already_setup.setter
    def already_setup(self, was_setup: bool) -> None:
        """Ignore: set-up is never performed."""


def TestApp(name: str | None = None, config: dict[str, Any] | None = None,
            enable_logging: bool = False, set_as_current: bool = False,
            log: str | type[Logging] = UnitLogging, backend: str | type[Backend] | None = None,
            broker: str | None = None,
            **kwargs: Any) -> Celery:
    """Create an app configured for tests (``DEFAULT_TEST_CONFIG`` plus ``config``)."""
    from celery.contrib.testing import tasks  # noqa: F401 - registers celery.ping
    config = dict(deepcopy(DEFAULT_TEST_CONFIG), **config or {})
    if broker is not None:
        config.pop('broker_url', None)
    if backend is not None:
        config.pop('result_backend', None)
    test_app = Celery(name or 'celery.tests', set_as_current=set_as_current,
                      log=None if enable_logging else log,
                      broker=broker, backend=backend, **kwargs)
    test_app.add_defaults(config)
    return test_app


class _TrapLocal:
    """Replaces the thread-local current app so every thread sees the trap."""

    def __init__(self, trap: Trap) -> None:
        self.current_app = trap


@contextmanager
def set_trap(app: Celery) -> Iterator[Trap]:
    """Make any use of the default or current app raise while the block runs."""
    trap = Trap()
    prev_tls, prev_default = _state._tls, _state.default_app
    _state.set_default_app(trap)  # type: ignore[arg-type]
    _state._tls = _TrapLocal(trap)  # type: ignore[assignment]
    try:
        yield trap
    finally:
        _state._tls = prev_tls
        _state.set_default_app(prev_default)


@contextmanager
def setup_default_app(app: Celery, use_trap: bool = False) -> Iterator[None]:
    """Restore the default/current app and app registries when the block exits."""
    restore_app_state = _remember_app_state()
    try:
        with set_trap(app) if use_trap else nullcontext():
            yield
    finally:
        restore_app_state()


def _remember_app_state() -> Callable[[], None]:
    """Note the current and default app and the app registries; return what puts them back."""
    current, default = _state._tls.current_app, _state.default_app
    finalizers, apps = set(_state._on_app_finalizers), weakref.WeakSet(_state._apps)

    def restore() -> None:
        _state.set_default_app(default)
        _state._tls.current_app = current
        # Refilled in place: other modules hold references to these sets.
        _refill(_state._on_app_finalizers, finalizers)
        _refill(_state._apps, apps)
    return restore


def _refill(registry: set[Any] | weakref.WeakSet[Any], items: Iterable[Any]) -> None:
    registry.clear()
    registry.update(items)

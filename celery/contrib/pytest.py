"""Fixtures and the ``celery`` marker for testing Celery apps with pytest.

Enable with ``-p celery.contrib.pytest`` or ``pytest_plugins = ('celery.contrib.pytest',)``
in a ``conftest.py``.  The ``pytest-celery`` package imports everything from
here, so the names below are part of the public surface.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from celery.contrib.testing import worker
from celery.contrib.testing.app import TestApp, setup_default_app

if TYPE_CHECKING:
    from celery import Celery
    from celery.contrib.testing.worker import TestWorkController

# ``pytest-celery`` star-imports this module: export the helpers it may use too.
__all__ = (
    'NO_WORKER',
    'TestApp',
    'celery_app',
    'celery_class_tasks',
    'celery_config',
    'celery_enable_logging',
    'celery_includes',
    'celery_parameters',
    'celery_session_app',
    'celery_session_worker',
    'celery_worker',
    'celery_worker_parameters',
    'celery_worker_pool',
    'depends_on_current_app',
    'pytest_configure',
    'setup_default_app',
    'use_celery_app_trap',
    'worker',
)

#: Set the ``NO_WORKER`` environment variable to skip starting embedded workers.
NO_WORKER = os.environ.get('NO_WORKER')


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``celery`` marker."""
    config.addinivalue_line(
        'markers', 'celery(**overrides): override celery configuration for a test case')


@contextmanager
def _create_app(enable_logging: bool = False, use_trap: bool = False,
                parameters: Mapping[str, Any] | None = None,
                **config: Any) -> Iterator[Celery]:
    """A test app whose default/current-app changes are undone on exit."""
    test_app = TestApp(set_as_current=False, enable_logging=enable_logging, config=config,
                       **(parameters or {}))
    try:
        with setup_default_app(test_app, use_trap=use_trap):
            yield test_app
    finally:
        test_app.close()


def _config_for(request: pytest.FixtureRequest, celery_config: Mapping[str, Any]) -> dict:
    mark = request.node.get_closest_marker('celery')
    return dict(celery_config, **(mark.kwargs if mark else {}))


def _import_includes(app: Celery, includes: Sequence[str]) -> None:
    for module in includes:
        app.loader.import_task_module(module)


@pytest.fixture(scope='session')
def use_celery_app_trap() -> bool:
    """Override to return True: using the default/current app then raises."""
    return False


@pytest.fixture(scope='session')
def celery_session_app(request: pytest.FixtureRequest, celery_config: Mapping[str, Any],
                       celery_parameters: Mapping[str, Any], celery_enable_logging: bool,
                       use_celery_app_trap: bool) -> Iterator[Celery]:
    """A test app shared by the whole session."""
    config = _config_for(request, celery_config)
    with _create_app(enable_logging=celery_enable_logging, use_trap=use_celery_app_trap,
                     parameters=celery_parameters, **config) as app:
        if not use_celery_app_trap:
            app.set_default()
            app.set_current()
        yield app


@pytest.fixture(scope='session')
def celery_session_worker(celery_session_app: Celery, celery_includes: Sequence[str],
                          celery_class_tasks: Sequence[Any], celery_worker_pool: str,
                          celery_worker_parameters: Mapping[str, Any],
                          ) -> Iterator[TestWorkController | None]:
    """An embedded worker for ``celery_session_app``, alive for the whole session."""
    if NO_WORKER:
        yield None
        return
    _import_includes(celery_session_app, celery_includes)
    for class_task in celery_class_tasks:
        celery_session_app.register_task(class_task)
    with worker.start_worker(celery_session_app, pool=celery_worker_pool,
                             **celery_worker_parameters) as w:
        yield w


@pytest.fixture(scope='session')
def celery_enable_logging() -> bool:
    """Override to return True: embedded workers then configure logging."""
    return False


@pytest.fixture(scope='session')
def celery_includes() -> Sequence[str]:
    """Override with module names embedded workers import (task modules, signals)."""
    return ()


@pytest.fixture(scope='session')
def celery_worker_pool() -> str:
    """Override to choose the pool of embedded workers ('solo', 'threads', 'prefork')."""
    return 'solo'


@pytest.fixture(scope='session')
def celery_config() -> Mapping[str, Any]:
    """Override with settings for the test apps (merged over the test defaults)."""
    return {}


@pytest.fixture(scope='session')
def celery_parameters() -> Mapping[str, Any]:
    """Override with keyword arguments for the test apps' ``Celery(...)`` call."""
    return {}


@pytest.fixture(scope='session')
def celery_worker_parameters() -> Mapping[str, Any]:
    """Override with keyword arguments for the embedded workers' ``WorkController``."""
    return {}


@pytest.fixture(scope='session')
def celery_class_tasks() -> Sequence[Any]:
    """Override with class-based tasks to register with the session app."""
    return []


@pytest.fixture
def celery_app(request: pytest.FixtureRequest, celery_config: Mapping[str, Any],
               celery_parameters: Mapping[str, Any], celery_enable_logging: bool,
               use_celery_app_trap: bool) -> Iterator[Celery]:
    """A fresh test app for one test (``celery`` marker overrides applied)."""
    config = _config_for(request, celery_config)
    with _create_app(enable_logging=celery_enable_logging, use_trap=use_celery_app_trap,
                     parameters=celery_parameters, **config) as app:
        yield app


@pytest.fixture
def celery_worker(celery_app: Celery, celery_includes: Sequence[str],
                  celery_worker_pool: str, celery_worker_parameters: Mapping[str, Any],
                  ) -> Iterator[TestWorkController | None]:
    """An embedded worker for ``celery_app``, stopped when the test returns."""
    if NO_WORKER:
        yield None
        return
    _import_includes(celery_app, celery_includes)
    with worker.start_worker(celery_app, pool=celery_worker_pool,
                             **celery_worker_parameters) as w:
        yield w


@pytest.fixture
def depends_on_current_app(celery_app: Celery) -> None:
    """Make ``celery_app`` the current app (allowed even with the app trap)."""
    celery_app.set_current()

"""Shared fixtures: broker/backend URLs and unique names for parallel-safe tests."""
from __future__ import annotations

import faulthandler
import logging
import os
import sys
import tempfile
import uuid

import pytest

# Many tests spawn `celery` processes.  With bytecode writing disabled in the
# environment each of them would compile every module again (~0.2 s); give
# them a private bytecode cache instead, leaving the source tree clean.
if os.environ.pop('PYTHONDONTWRITEBYTECODE', None):
    os.environ.setdefault('PYTHONPYCACHEPREFIX', tempfile.mkdtemp(prefix='celery-tests-pycache-'))

#: Our own suite uses the public testing plugin (celery_app, celery_worker, ...).
pytest_plugins = ('celery.contrib.pytest',)

# The servers' locations live in t/servers.py (one variable each); these names
# are re-exported for the tests that import them from here.
from t.servers import (  # noqa: E402,F401
    AMQP_URL, MEMCACHED_URL, POSTGRES_URL, REDIS_BACKEND_URL, REDIS_URL,
)
from t import cleanup  # noqa: E402


#: Seconds the test run may take to exit after its last hook; past that it
#: prints every thread's stack and exits, so a stuck clean-up fails the run
#: instead of stalling it.
EXIT_WATCHDOG_SECONDS = 60

#: The RabbitMQ queues that existed when the run started (see t/cleanup.py).
_QUEUES_BEFORE = pytest.StashKey['set[str] | None']()


def _is_controller(config: pytest.Config) -> bool:
    """True in the process that runs the session (not in an xdist worker)."""
    return not hasattr(config, 'workerinput')


def pytest_sessionstart(session: pytest.Session) -> None:
    if _is_controller(session.config):
        session.config.stash[_QUEUES_BEFORE] = cleanup.begin_run()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _is_controller(session.config) and _QUEUES_BEFORE in session.config.stash:
        cleanup.end_run(session.config.stash[_QUEUES_BEFORE])


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Not in an xdist worker: it unconfigures when its own tests are done and
    # then waits, as long as it takes, for the other workers to finish.
    if _is_controller(config):
        faulthandler.dump_traceback_later(EXIT_WATCHDOG_SECONDS, exit=True, file=sys.__stderr__)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under t/integration as ``integration``."""
    for item in items:
        if f'{os.sep}integration{os.sep}' in str(item.fspath):
            item.add_marker(pytest.mark.integration)


#: Loggers an in-process worker configures (its logging set-up changes them).
_WORKER_CONFIGURED_LOGGERS = ('', 'celery', 'celery.task', 'celery.redirected', 'multiprocessing')


@pytest.fixture(autouse=True)
def _restore_logging():
    """Undo what a worker built in-process did to logging (levels, handlers, propagation).

    Without this a test that starts a worker at level ERROR leaves the root
    logger there, and a later test's ``caplog`` sees no warnings.
    """
    saved = []
    for name in _WORKER_CONFIGURED_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, list(logger.handlers), logger.propagate))
    yield
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


@pytest.fixture(autouse=True)
def _restore_join_will_block():
    """Building a worker in-process marks result.get() as blocking; undo it per test."""
    from celery import _state
    saved = _state.task_join_will_block()
    yield
    _state._set_task_join_will_block(saved)


@pytest.fixture(autouse=True)
def _restore_current_app():
    """Put back the current and default app a test (or a worker it built) changed.

    A worker set up in-process makes its app current and default
    (``setup_worker_optimizations``); a later test's ``shared_task`` proxy
    would otherwise resolve on that closed app.
    """
    from celery import _state
    current, default = _state._tls.current_app, _state.default_app
    yield
    _state._set_current_app(current)
    _state.set_default_app(default)


@pytest.fixture
def unique() -> str:
    """A short unique string to name queues, keys and apps in one test."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def amqp_url() -> str:
    return AMQP_URL


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def redis_backend_url() -> str:
    """The suite's Redis database for results."""
    return REDIS_BACKEND_URL


@pytest.fixture(params=['amqp', 'redis'])
def broker_url(request: pytest.FixtureRequest) -> str:
    """Parametrize a test over both real brokers."""
    return AMQP_URL if request.param == 'amqp' else REDIS_URL


@pytest.fixture
def app(unique: str):
    """A fresh app with an in-memory broker, not set as current."""
    from celery import Celery
    application = Celery(f'test-{unique}', set_as_current=False,
                         broker='memory://', backend='cache+memory://')
    yield application
    application.close()

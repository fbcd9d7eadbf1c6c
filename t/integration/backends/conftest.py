"""Apps wired to each real result backend, with unique keys/tables per test."""
from __future__ import annotations

import os

import pytest

from t.conftest import MEMCACHED_URL, POSTGRES_URL, REDIS_URL

BACKENDS = ['redis', 'postgresql', 'sqlite', 'memcached', 'filesystem']


def backend_url(kind: str, tmp_path) -> str:
    return {
        'redis': REDIS_URL,
        'postgresql': 'db+' + POSTGRES_URL,
        'sqlite': f'db+sqlite:///{tmp_path}/results.db',
        'memcached': 'cache+' + MEMCACHED_URL,
        'filesystem': f'file://{tmp_path}',
    }[kind]


@pytest.fixture
def make_app(unique, tmp_path):
    """Build an app for a backend kind; keys and tables are unique to the test."""
    from celery import Celery
    apps = []

    def _make(kind: str, url: str | None = None, **conf):
        app = Celery(f'it-{unique}', set_as_current=False, broker='memory://',
                     backend=url or backend_url(kind, tmp_path))
        app.conf.result_backend_transport_options = {'global_keyprefix': f'it{unique}_'}
        app.conf.database_table_names = {'task': f'tm_{unique}', 'group': f'tsm_{unique}'}
        app.conf.update(conf)
        apps.append(app)
        return app
    yield _make
    for app in apps:
        backend = app._local.backend if hasattr(app, '_local') else None
        tables = getattr(backend, 'tables', None)
        if tables is not None:
            # Tables only: the id sequences are shared with every other results table.
            for table in (tables.task, tables.group):
                table.drop(backend.engine, checkfirst=True)
        app.close()


@pytest.fixture(params=BACKENDS)
def kind(request) -> str:
    return request.param


def pytest_report_header() -> str:
    return f'result backends under test: {", ".join(BACKENDS)} (pid {os.getpid()})'

"""The celery.contrib.pytest plugin, exercised in a separate pytest run."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]

FIXTURE_SCOPES = textwrap.dedent('''
    import pytest

    SESSION_FIXTURES = (
        'use_celery_app_trap', 'celery_enable_logging', 'celery_includes',
        'celery_worker_pool', 'celery_config', 'celery_parameters',
        'celery_worker_parameters', 'celery_class_tasks', 'celery_session_app',
    )

    @pytest.fixture(scope='session')
    def session_values(use_celery_app_trap, celery_enable_logging, celery_includes,
                       celery_worker_pool, celery_config, celery_parameters,
                       celery_worker_parameters, celery_class_tasks, celery_session_app):
        # A function-scoped fixture here would be a ScopeMismatch error.
        return dict(locals())

    def test_session_fixture_defaults(session_values):
        assert session_values['use_celery_app_trap'] is False
        assert session_values['celery_enable_logging'] is False
        assert tuple(session_values['celery_includes']) == ()
        assert session_values['celery_worker_pool'] == 'solo'
        assert session_values['celery_config'] == {}
        assert session_values['celery_parameters'] == {}
        assert session_values['celery_worker_parameters'] == {}
        assert list(session_values['celery_class_tasks']) == []

    seen = {}

    def test_function_fixtures_first(celery_app, celery_worker, celery_session_app):
        seen.update(app=celery_app, worker=celery_worker, session=celery_session_app)

    def test_function_fixtures_are_new_each_test(celery_app, celery_worker, celery_session_app):
        assert celery_app is not seen['app']
        assert celery_worker is not seen['worker']
        assert celery_session_app is seen['session']

    def test_session_app_is_default_and_current(celery_session_app):
        from celery import current_app
        assert current_app._get_current_object() is celery_session_app
''')

OVERRIDES = textwrap.dedent('''
    import pytest
    from celery import Task
    from celery.contrib.testing.worker import TestWorkController

    class Shout(Task):
        name = 'inner.shout'

        def run(self, text):
            return text.upper()

    @pytest.fixture(scope='session')
    def celery_config():
        return {'task_default_queue': 'inner-q', 'result_extended': True}

    @pytest.fixture(scope='session')
    def celery_parameters():
        return {'strict_typing': False}

    @pytest.fixture(scope='session')
    def celery_includes():
        return ['inner_tasks']

    @pytest.fixture(scope='session')
    def celery_worker_pool():
        return 'threads'

    @pytest.fixture(scope='session')
    def celery_worker_parameters():
        return {'concurrency': 2}

    @pytest.fixture(scope='session')
    def celery_class_tasks():
        return [Shout]

    def test_config_and_parameters(celery_app):
        assert celery_app.conf.broker_url == 'memory://'
        assert celery_app.conf.task_default_queue == 'inner-q'
        assert celery_app.conf.result_extended is True
        assert celery_app.strict_typing is False

    @pytest.mark.celery(task_default_queue='marked-q')
    def test_marker_overrides_one_setting(celery_app):
        assert celery_app.conf.task_default_queue == 'marked-q'
        assert celery_app.conf.result_extended is True

    @pytest.mark.celery(result_extended=False)
    class TestMarkedClass:
        def test_one(self, celery_app):
            assert celery_app.conf.result_extended is False

        def test_two(self, celery_app):
            assert celery_app.conf.result_extended is False

    def test_worker_pool_parameters_and_includes(celery_app, celery_worker):
        assert isinstance(celery_worker, TestWorkController)
        assert celery_worker.pool_cls.__module__.endswith('.thread')
        assert celery_worker.concurrency == 2

        @celery_app.task
        def mul(x, y):
            return x * y

        assert mul.delay(4, 4).get(timeout=10) == 16
        assert celery_app.tasks['inner_tasks.echo'].delay(7).get(timeout=10) == 7

    def test_session_worker_with_class_tasks(celery_session_app, celery_session_worker):
        shout = celery_session_app.tasks['inner.shout']
        assert shout.delay('hi').get(timeout=10) == 'HI'
''')

TRAP = textwrap.dedent('''
    import pytest

    @pytest.fixture(scope='session')
    def use_celery_app_trap():
        return True

    def test_trap_catches_current_app(celery_app):
        from celery import current_app
        with pytest.raises(RuntimeError, match='current_app'):
            current_app.conf

    @pytest.mark.usefixtures('depends_on_current_app')
    def test_depends_on_current_app(celery_app):
        from celery import current_app
        assert current_app._get_current_object() is celery_app
''')

NO_WORKER = textwrap.dedent('''
    def test_worker_fixtures_are_none(celery_app, celery_worker):
        assert celery_worker is None
''')

INNER_TASKS = textwrap.dedent('''
    from celery import shared_task

    @shared_task(name='inner_tasks.echo')
    def echo(x):
        return x
''')


def run_pytest(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run pytest in ``directory`` with only our plugin loaded."""
    environ = dict(os.environ, PYTHONPATH=f'{ROOT}{os.pathsep}{directory}', **env)
    environ.pop('PYTEST_ADDOPTS', None)
    return subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'celery.contrib.pytest', '-p', 'no:cacheprovider',
         '--strict-markers', '-q', '-rf', *args],
        cwd=directory, env=environ, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / 'inner_tasks.py').write_text(INNER_TASKS)
    return tmp_path


def test_fixtures_scopes_defaults_overrides_and_trap(project: Path) -> None:
    (project / 'test_scopes.py').write_text(FIXTURE_SCOPES)
    (project / 'test_overrides.py').write_text(OVERRIDES)
    (project / 'test_trap.py').write_text(TRAP)
    run = run_pytest(project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert '12 passed' in run.stdout


def test_no_worker_environment_variable(project: Path) -> None:
    (project / 'test_no_worker.py').write_text(NO_WORKER)
    run = run_pytest(project, NO_WORKER='1')
    assert run.returncode == 0, run.stdout + run.stderr


def test_plugin_is_not_loaded_implicitly(project: Path) -> None:
    (project / 'test_no_worker.py').write_text(NO_WORKER)
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider'],
                         cwd=project, env=environ, capture_output=True, text=True, check=False, timeout=120)
    assert "fixture 'celery_app' not found" in run.stdout

"""A small Django project using django-celery-results and -beat on a PostgreSQL database of its own."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from t.servers import POSTGRES_URL

SETTINGS = '''
SECRET_KEY = 'test-only'
USE_TZ = True
TIME_ZONE = 'UTC'
INSTALLED_APPS = ['django_celery_results', 'django_celery_beat']
DATABASES = {{'default': {database!r}}}
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'

CELERY_BROKER_URL = {broker!r}
CELERY_RESULT_BACKEND = 'django-db'
CELERY_RESULT_EXTENDED = True
CELERY_TIMEZONE = 'UTC'
# A queue of the test's own, so other tests' workers never take these messages.
CELERY_TASK_DEFAULT_QUEUE = {queue!r}
'''

CELERY_MODULE = '''
import os

from celery import Celery

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')
app = Celery('proj')
app.config_from_object('django.conf:settings', namespace='CELERY')


@app.task(name='proj.add')
def add(x, y):
    return x + y


@app.task(name='proj.tsum')
def tsum(numbers):
    return sum(numbers)


@app.task(name='proj.fail')
def fail(message):
    raise ValueError(message)


@app.task(name='proj.tick')
def tick(n):
    return n
'''

MANAGE = '''
import os
import sys

if __name__ == '__main__':
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
'''


def database_settings(name: str) -> dict[str, str]:
    """Django's DATABASES entry for database ``name`` on the suite's PostgreSQL server."""
    url = urlsplit(POSTGRES_URL)
    return {'ENGINE': 'django.db.backends.postgresql', 'NAME': name,
            'USER': url.username or 'postgres', 'PASSWORD': url.password or '',
            'HOST': url.hostname or '127.0.0.1', 'PORT': str(url.port or 5432)}


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """Create database ``name`` for one test and drop it afterwards."""
    import psycopg2
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cursor:
            # FORCE: a worker or beat killed mid-query may leave a session behind.
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def write_project(root: Path, database: str, broker: str, queue: str) -> Path:
    """Write ``manage.py`` and the ``proj`` package into ``root``."""
    package = root / 'proj'
    package.mkdir(parents=True)
    (package / '__init__.py').write_text('from .celery import app as celery_app\n')
    (package / 'celery.py').write_text(CELERY_MODULE)
    (package / 'settings.py').write_text(SETTINGS.format(
        database=database_settings(database), broker=broker, queue=queue))
    (root / 'manage.py').write_text(MANAGE)
    return root


def project_env() -> dict[str, str]:
    """The environment for the project's commands, free of the suite's own settings."""
    env = dict(os.environ)
    for name in ('CELERY_BROKER_URL', 'CELERY_RESULT_BACKEND', 'DJANGO_SETTINGS_MODULE',
                 'CELERY_CONFIG_MODULE', 'PYTHONPATH'):
        env.pop(name, None)
    return env


def run_django(root: Path, code: str, timeout: float = 120) -> object:
    """Run ``code`` in ``manage.py shell``; return the JSON its last output line holds."""
    proc = subprocess.run([sys.executable, 'manage.py', 'shell', '-c', code], cwd=root,
                          env=project_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def manage(root: Path, *args: str) -> str:
    """Run a ``manage.py`` command that must succeed; return its output."""
    proc = subprocess.run([sys.executable, 'manage.py', *args], cwd=root, env=project_env(),
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout

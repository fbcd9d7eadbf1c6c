"""Bad command lines fail fast with a clear message and a non-zero exit code."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import HERE


def run_celery(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, '-m', 'celery', *args], env=env, cwd=HERE,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def env(worker_env):
    return worker_env


@pytest.mark.parametrize('broker_url', ['amqp'], indirect=True)
@pytest.mark.parametrize('args,fragment', [
    (['-A', 'programapp', 'worker', '--concurency', '2'], '--concurrency'),
    (['-A', 'programapp', 'worker', '-P', 'nosuchpool'], 'nosuchpool'),
    (['-A', 'programapp', 'worker', '-l', 'LOUD'], 'LOUD'),
    (['worker', '-A', 'programapp'], 'celery -A programapp worker'),
    (['-A', 'no_such_module_abc', 'worker'], 'The module no_such_module_abc was not found'),
    (['-A', 'programapp', 'wroker'], 'Did you mean'),
])
def test_bad_arguments(env, args, fragment):
    completed = run_celery(*args, env=env)
    assert completed.returncode == 2
    assert fragment in completed.stderr


@pytest.mark.parametrize('broker_url', ['amqp'], indirect=True)
def test_version(env):
    completed = run_celery('--version', env=env)
    assert completed.returncode == 0
    assert completed.stdout.startswith('5.')

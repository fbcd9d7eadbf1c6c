"""The typing suite (t/typing): typed tasks, results and signatures, checked by mypy."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

RUNNER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      'typing', 'run.py')

pytestmark = pytest.mark.skipif(importlib.util.find_spec('mypy') is None,
                                reason='mypy is not installed (requirements/lint.txt)')


def test_typing_suite() -> None:
    proc = subprocess.run([sys.executable, RUNNER], capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_task_subscription_at_run_time() -> None:
    from celery import Celery, Task
    from celery._typing import P, R

    class PluginTask(Task):
        """A plugin's base class, written before tasks were generic."""

    class GenericPluginTask(Task[P, R]):
        """A plugin's base class that keeps the task's types."""

    alias = Task[[int, int], int]
    assert alias.__origin__ is Task
    assert GenericPluginTask[[str], str].__origin__ is GenericPluginTask
    app = Celery(set_as_current=False)

    @app.task(base=PluginTask, shared=False)
    def add(x: int, y: int) -> int:
        return x + y
    assert add(1, 2) == 3
    assert isinstance(add, PluginTask)

"""Helpers shared by integration tests that run a generated-per-test app module.

The app module reads its unique names and broker from ``<PREFIX>_UNIQUE`` and
``<PREFIX>_BROKER``, so worker processes and the test process build the same app.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0,
             interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something true, or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def new_unique() -> str:
    """A short unique id for queue and exchange names."""
    return uuid.uuid4().hex[:12]


def environment(prefix: str, app_dir: Path, broker: str, unique: str,
                **extra: str) -> dict[str, str]:
    """Environment for a child process importing the app module in ``app_dir``."""
    env = dict(os.environ, **{f'{prefix}_UNIQUE': unique, f'{prefix}_BROKER': broker},
               PYTHONPATH=os.pathsep.join([str(app_dir), str(ROOT)]), **extra)
    env.pop('CELERY_BROKER_URL', None)
    return env


def load_app(prefix: str, module_name: str, broker: str, unique: str) -> Any:
    """Import a fresh copy of ``module_name`` configured for ``unique`` in this process."""
    os.environ[f'{prefix}_UNIQUE'], os.environ[f'{prefix}_BROKER'] = unique, broker
    sys.modules.pop(module_name, None)
    module = importlib.import_module(module_name)
    sys.modules.pop(module_name, None)
    return module

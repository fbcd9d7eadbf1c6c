"""The app the program tests start with ``celery -A programapp worker``.

Everything that must be unique per test comes from the environment.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from celery import Celery
from celery.utils.log import get_task_logger
from t.servers import REDIS_BACKEND_URL

app = Celery('programapp')
app.conf.update(
    task_default_queue=os.environ.get('PROGRAM_TEST_QUEUE', 'celery'),
    result_backend=os.environ.get('CELERY_RESULT_BACKEND', REDIS_BACKEND_URL),
    broker_connection_retry_on_startup=True,
)


@app.task
def add(x: int, y: int) -> int:
    """Return ``x + y``."""
    return x + y


@app.task
def slow(seconds: float, marker: str) -> str:
    """Touch ``marker.started``, sleep, then touch ``marker.done``."""
    Path(f'{marker}.started').touch()
    time.sleep(seconds)
    Path(f'{marker}.done').touch()
    return 'finished'


logger = get_task_logger(__name__)


@app.task
def chatty(marker: str) -> str:
    """Print ``marker`` and log it through the task logger."""
    print(f'printed {marker}')
    logger.warning('logged %s', marker)
    return marker


@app.task
def whoami() -> int:
    """Return the pid of the process executing the task."""
    return os.getpid()

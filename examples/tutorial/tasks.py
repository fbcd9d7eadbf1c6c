"""The tutorial's tasks: ``celery -A tasks worker -l INFO`` runs them.

Configuration comes from the environment (``CELERY_BROKER_URL``,
``CELERY_RESULT_BACKEND``) or ``celeryconfig.py`` next to this file, so
the same module serves the demo, RabbitMQ and Redis.
"""
from __future__ import annotations

import os

from celery import Celery

app = Celery('tasks')
app.config_from_object(os.environ.get('CELERY_CONFIG_MODULE', 'celeryconfig'), silent=True)


@app.task
def add(x: float, y: float) -> float:
    """Return ``x + y``."""
    return x + y


@app.task
def mul(x: float, y: float) -> float:
    """Return ``x * y``."""
    return x * y


@app.task
def xsum(numbers: list[float]) -> float:
    """Return the sum of ``numbers``."""
    return sum(numbers)


@app.task
def tsum(numbers: list[float]) -> float:
    """Return the sum of ``numbers`` (used as a chord callback)."""
    return sum(numbers)

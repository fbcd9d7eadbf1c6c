"""The app of the worker-process tests: names come from ``PROC_UNIQUE``."""
from __future__ import annotations

import os

from celery import Celery
from t.servers import REDIS_BACKEND_URL

UNIQUE = os.environ['PROC_UNIQUE']

app = Celery(f'proc-{UNIQUE}', broker=os.environ['PROC_BROKER'],
             backend=REDIS_BACKEND_URL)
app.conf.update(
    task_default_queue=f'procq-{UNIQUE}',
    control_exchange=f'procctl-{UNIQUE}',
    event_exchange=f'procev-{UNIQUE}',
)


@app.task(name='proc.add')
def add(x: int, y: int) -> int:
    return x + y


@app.task(name='proc.pid')
def pid() -> int:
    return os.getpid()

"""The app run by the workers of the control/events integration tests.

Names (queue, control and event exchanges) come from ``CTL_UNIQUE`` so tests
running in parallel on the same brokers never see each other's workers.
"""
from __future__ import annotations

import os
import time

from celery import Celery
from celery.exceptions import Reject
from celery.worker.control import control_command, inspect_command
from t.servers import REDIS_BACKEND_URL

UNIQUE = os.environ['CTL_UNIQUE']

app = Celery(f'ctl-{UNIQUE}', broker=os.environ['CTL_BROKER'],
             backend=REDIS_BACKEND_URL)
app.conf.update(
    task_default_queue=f'ctlq-{UNIQUE}',
    control_exchange=f'ctl-{UNIQUE}',
    event_exchange=f'ev-{UNIQUE}',
    task_send_sent_event=True,
    worker_pool_restarts=True,
    broker_connection_retry_on_startup=True,
)


@app.task(name='ctl.add')
def add(x: int, y: int) -> int:
    return x + y


@app.task(name='ctl.sleeper')
def sleeper(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@app.task(name='ctl.fails')
def fails() -> None:
    raise KeyError('boom')


@app.task(name='ctl.retries_once', bind=True, max_retries=1)
def retries_once(self: object) -> str:
    if self.request.retries < 1:
        raise self.retry(countdown=0)
    return 'done'


@app.task(name='ctl.rejects', acks_late=True)
def rejects() -> None:
    raise Reject('no thanks', requeue=False)


@control_command(args=[('n', int)], signature='[N=1]')
def increase_prefetch_count(state: object, n: int = 1) -> dict:
    """Custom command from the Workers Guide."""
    state.consumer.qos.increment_eventually(n)
    return {'ok': 'prefetch count incremented'}


@inspect_command()
def current_prefetch_count(state: object) -> dict:
    """Custom inspect command from the Workers Guide."""
    return {'prefetch_count': state.consumer.qos.value}


@control_command()
def explodes(state: object) -> dict:
    """A command that raises: the worker must reply with an error and go on."""
    raise RuntimeError('kaboom')

"""The app run by the worker and monitor processes of the events integration tests.

Queue, control and event exchange names come from ``EV_UNIQUE`` so tests
running in parallel on the same brokers never see each other's workers.
"""
from __future__ import annotations

import json
import os
import time

from celery import Celery
from celery.events.snapshot import Polaroid
from t.servers import REDIS_BACKEND_URL

UNIQUE = os.environ['EV_UNIQUE']

app = Celery(f'ev-{UNIQUE}', broker=os.environ['EV_BROKER'],
             backend=REDIS_BACKEND_URL)
app.conf.update(
    task_default_queue=f'evq-{UNIQUE}',
    control_exchange=f'evctl-{UNIQUE}',
    event_exchange=f'evx-{UNIQUE}',
    task_send_sent_event=True,
    broker_connection_retry_on_startup=True,
)


@app.task(name='ev.add')
def add(x: int, y: int) -> int:
    return x + y


@app.task(name='ev.sleeper')
def sleeper(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@app.task(name='ev.progress', bind=True)
def progress(self, total: int) -> int:
    for current in range(1, total + 1):
        self.send_event('task-progress', current=current, total=total)
    return total


class FileCamera(Polaroid):
    """Appends one JSON line per shutter to ``$EV_CAMERA_FILE``."""

    def on_shutter(self, state) -> None:
        picture = {
            'time': time.time(),
            'event_count': state.event_count,
            'workers': sorted(state.workers),
            'tasks': {uuid: [task.name, task.state] for uuid, task in state.tasks.items()},
        }
        with open(os.environ['EV_CAMERA_FILE'], 'a') as fh:
            fh.write(json.dumps(picture) + '\n')

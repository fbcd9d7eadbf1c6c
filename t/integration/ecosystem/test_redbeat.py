"""celery-redbeat's RedBeatScheduler drives `celery beat` with its schedule in Redis."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from t.integration.django.test_first_steps import CommandProcess
from t.servers import REDIS_URL

pytest.importorskip('redbeat')
pytestmark = pytest.mark.timeout(120)

APP = '''
from celery import Celery

app = Celery('ecoapp', broker={broker!r})
app.conf.update(
    beat_scheduler='redbeat.RedBeatScheduler',
    redbeat_redis_url={broker!r},
    redbeat_key_prefix={prefix!r},
    redbeat_lock_timeout=10,
    beat_max_loop_interval=1,
    task_default_queue={queue!r},
    beat_schedule={{'tick': {{'task': 'ecoapp.tick', 'schedule': 1.0}}}},
)


@app.task(name='ecoapp.tick')
def tick():
    return 'tick'
'''


def test_redbeat_scheduler_sends_due_tasks(tmp_path: Path, unique: str) -> None:
    import redis
    prefix = f'redbeat-{unique}:'
    (tmp_path / 'ecoapp.py').write_text(
        APP.format(broker=REDIS_URL, prefix=prefix, queue=f'redbeat-{unique}'))
    env = dict(os.environ)
    for name in ('CELERY_BROKER_URL', 'CELERY_RESULT_BACKEND', 'DJANGO_SETTINGS_MODULE'):
        env.pop(name, None)
    beat = CommandProcess([sys.executable, '-m', 'celery', '-A', 'ecoapp', 'beat',
                           '-l', 'INFO', '--schedule', str(tmp_path / 'schedule')],
                          env, tmp_path)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        beat.wait_for(r'Scheduler: Sending due task tick \(ecoapp\.tick\)', timeout=60, count=2)
        # The entry and its schedule live in Redis, where RedBeat keeps them.
        assert client.exists(f'{prefix}tick')
        assert client.zscore(f'{prefix}:schedule', f'{prefix}tick') is not None
    finally:
        beat.stop()
        for key in client.scan_iter(f'{prefix}*'):
            client.delete(key)

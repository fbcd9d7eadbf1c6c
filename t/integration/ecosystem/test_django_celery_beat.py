"""django-celery-beat's DatabaseScheduler drives `celery beat` from PostgreSQL, edits included."""
from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from t.integration.appenv import wait_for
from t.integration.django.test_first_steps import CommandProcess
from t.servers import REDIS_URL

pytest.importorskip('django_celery_beat')
pytest.importorskip('psycopg2')
pytestmark = pytest.mark.timeout(240)

from t.integration.ecosystem.djangoproj import (  # noqa: E402
    manage, postgres_database, project_env, run_django, write_project)

CREATE = '''
import json
from django_celery_beat.models import IntervalSchedule, PeriodicTask
every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.create(name={name!r}, task='proj.tick', interval=every, args='[1]')
print(json.dumps(PeriodicTask.objects.filter(name={name!r}).count()))
'''

# The edits a user makes in the admin: new arguments, then a crontab schedule.
EDIT = '''
import json
from django_celery_beat.models import PeriodicTask
task = PeriodicTask.objects.get(name={name!r})
task.args = '[2]'
task.save()
print(json.dumps(task.args))
'''

TO_CRONTAB = '''
import json
from django_celery_beat.models import CrontabSchedule, PeriodicTask
cron, _ = CrontabSchedule.objects.get_or_create(minute='*', hour='*', day_of_week='*',
                                                day_of_month='*', month_of_year='*')
task = PeriodicTask.objects.get(name={name!r})
task.interval = None
task.crontab = cron
task.save()
print(json.dumps([task.crontab.minute, task.interval_id]))
'''

RUN_COUNT = '''
import json
from django_celery_beat.models import PeriodicTask
task = PeriodicTask.objects.get(name={name!r})
print(json.dumps([task.total_run_count, task.last_run_at is not None]))
'''


class QueueWatcher:
    """Reads the task messages beat put on a Redis queue (they stay, no worker runs)."""

    def __init__(self, queue: str) -> None:
        import redis
        self.queue = queue
        self.client = redis.Redis.from_url(REDIS_URL)

    def args_sent(self) -> list[list]:
        """The positional arguments of every ``proj.tick`` message so far, oldest first."""
        sent = []
        for raw in reversed(self.client.lrange(self.queue, 0, -1)):
            message = json.loads(raw)
            if message['headers'].get('task') == 'proj.tick':
                body = json.loads(base64.b64decode(message['body']))
                sent.append(body[0])
        return sent

    def clear(self) -> None:
        self.client.delete(self.queue)


@pytest.fixture
def project(tmp_path: Path, unique: str):
    with postgres_database(f'eco_beat_{unique}') as database:
        root = write_project(tmp_path, database, REDIS_URL, f'dcb-{unique}')
        manage(root, 'migrate', '--noinput')
        yield root


def test_database_scheduler_follows_edits(project: Path, unique: str) -> None:
    name = f'tick-{unique}'
    assert run_django(project, CREATE.format(name=name)) == 1
    queue = QueueWatcher(f'dcb-{unique}')
    beat = CommandProcess(
        [sys.executable, '-m', 'celery', '-A', 'proj', 'beat', '-l', 'INFO',
         '-S', 'django_celery_beat.schedulers:DatabaseScheduler'], project_env(), project)
    try:
        beat.wait_for(r'Sending due task .*\(proj\.tick\)', timeout=90)
        assert wait_for(lambda: [1] in queue.args_sent(), timeout=30), beat.output

        assert run_django(project, EDIT.format(name=name)) == '[2]'
        assert wait_for(lambda: [2] in queue.args_sent(), timeout=60), (
            queue.args_sent(), beat.output)
        # Once the edit is seen, every later message has the new arguments.
        sent = queue.args_sent()
        assert sent[sent.index([2]):] == [[2]] * (len(sent) - sent.index([2]))

        assert run_django(project, TO_CRONTAB.format(name=name)) == ['*', None]
        beat.wait_for(r'DatabaseScheduler: Schedule changed', timeout=60, count=2)
    finally:
        beat.stop()
        queue.clear()
    # Beat wrote its runs back to the row.  Not an exact count: the edits above
    # save the whole row, so one may overwrite a count beat wrote meanwhile.
    total_run_count, last_run_known = run_django(project, RUN_COUNT.format(name=name))
    assert total_run_count >= 1 and last_run_known, beat.output

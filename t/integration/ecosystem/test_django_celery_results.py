"""django-celery-results as the result backend: a real worker stores results in PostgreSQL."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from t.integration.django.test_first_steps import CommandProcess
from t.servers import REDIS_URL

pytest.importorskip('django_celery_results')
pytest.importorskip('psycopg2')
pytestmark = pytest.mark.timeout(240)

from t.integration.ecosystem.djangoproj import (  # noqa: E402
    manage, postgres_database, project_env, run_django, write_project)

CLIENT = '''
import json
from celery import chord, group
from celery.result import AsyncResult
from django_celery_results.models import GroupResult, TaskResult
from proj.celery import add, fail, tsum

result = add.delay(2, 3)
value = result.get(timeout=60)
failed = fail.delay('boom')
try:
    failed.get(timeout=60)
    error = None
except ValueError as exc:
    error = str(exc)
header = chord(add.s(i, i) for i in range(3))(tsum.s())
saved = group(add.s(i, 1) for i in range(2)).apply_async()
saved.save()
outcomes = {'chord': header.get(timeout=60), 'group': saved.get(timeout=60)}
rows = {row.task_id: row for row in TaskResult.objects.all()}
row = rows[result.id]
print(json.dumps({
    'value': value, 'again': AsyncResult(result.id).get(timeout=10),
    'error': error, 'failed_state': rows[failed.id].status,
    **outcomes,
    'group_saved': GroupResult.objects.filter(group_id=saved.id).exists(),
    'status': row.status, 'result': row.result, 'task_name': row.task_name,
    'worker': row.worker, 'task_args': row.task_args, 'date_done': bool(row.date_done),
    'rows': TaskResult.objects.count(),
}))
'''


@pytest.fixture
def project(tmp_path: Path, unique: str):
    with postgres_database(f'eco_results_{unique}') as database:
        root = write_project(tmp_path, database, REDIS_URL, f'dcr-{unique}')
        manage(root, 'migrate', '--noinput')
        yield root


def test_worker_stores_results_in_the_database(project: Path, unique: str) -> None:
    worker = CommandProcess(
        [sys.executable, '-m', 'celery', '-A', 'proj', 'worker', '-l', 'INFO', '-c', '2',
         '-n', f'dcr-{unique}@%h'], project_env(), project)
    try:
        worker.wait_ready(timeout=90)
        out = run_django(project, CLIENT)
    finally:
        worker.stop()
    assert out['value'] == 5 and out['again'] == 5
    assert out['error'] == 'boom' and out['failed_state'] == 'FAILURE'
    assert out['chord'] == 6 and out['group'] == [1, 2]
    assert out['group_saved'] is True
    # The row as django-celery-results stores it (extended results on).
    assert out['status'] == 'SUCCESS' and out['result'] == '5'
    assert out['task_name'] == 'proj.add' and out['task_args'] in ('"(2, 3)"', '"[2, 3]"')
    assert out['worker'].startswith(f'dcr-{unique}@') and out['date_done']
    # add, fail, three chord parts + the callback, two group members.
    assert out['rows'] >= 8, out

"""Queue selection (-Q/-X), --purge, worker_direct and the --statedb revoke list."""
from __future__ import annotations

import signal
import time
import uuid

import pytest

from celery import states
from celery.exceptions import TaskRevokedError
from celery.utils.nodenames import worker_direct
from t.integration.worker.conftest import wait_for

pytestmark = pytest.mark.timeout(120) if hasattr(pytest.mark, 'timeout') else []

REDIS_ONLY = pytest.mark.parametrize('broker_url', ['redis'], indirect=True)


@REDIS_ONLY
def test_queue_selection_and_exclusion(scenario):
    q1, q2, q3 = (f'{scenario.queue}.{n}' for n in ('one', 'two', 'three'))
    scenario.start('-Q', f'{q1},{q2},{q3}', '-X', q3)
    assert scenario.send('add', (1, 1), queue=q1).get(timeout=10) == 2
    assert scenario.send('add', (2, 2), queue=q2).get(timeout=10) == 4
    excluded = scenario.send('add', (3, 3), queue=q3)
    time.sleep(1.0)
    assert excluded.state == states.PENDING
    assert scenario.queue_size(q3) == 1


def test_purge_discards_waiting_messages(scenario):
    waiting = [scenario.send('stamp', ('purged',)) for _ in range(3)]
    worker = scenario.start('--purge')
    worker.wait_for('purge: Erased 3 messages', timeout=5)
    assert scenario.send('add', (1, 2)).get(timeout=10) == 3
    assert all(r.state == states.PENDING for r in waiting)
    assert not scenario.events('stamp')


@REDIS_ONLY
def test_worker_direct_queue(scenario):
    worker = scenario.start(conf={'worker_direct': True})
    hostname = worker.wait_for(r' ready\.$').split('] ')[-1].split(' ')[0]
    direct = worker_direct(hostname)
    result = scenario.client.send_task('workerapp.add', (5, 5), exchange=direct.exchange,
                                       routing_key=direct.routing_key)
    assert result.get(timeout=10) == 10


@REDIS_ONLY
def test_statedb_keeps_revokes_across_restart(scenario, tmp_path):
    statedb = str(tmp_path / 'worker.state')
    first = scenario.start('--statedb', statedb)
    task_id = uuid.uuid4().hex
    # On Redis a broadcast reaches only subscribed workers: revoke once this
    # one answers remote control (its pidbox subscription is live).
    assert wait_for(lambda: scenario.client.control.ping(timeout=1.0), timeout=30)
    scenario.client.control.revoke(task_id)
    first.wait_for(f'revoked {task_id}|Tasks flagged as revoked: {task_id}', timeout=30)
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    scenario.start('--statedb', statedb)
    result = scenario.send('stamp', ('revoked-after-restart',), task_id=task_id)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=10)
    assert not scenario.events('stamp')
    assert scenario.send('add', (1, 1)).get(timeout=10) == 2

"""task_max_redeliveries with real redeliveries: a worker killed again and again mid-task.

Each round SIGKILLs the whole worker (main process and pool) while it holds an
acks_late task.  RabbitMQ redelivers the unacked message flagged
``redelivered``; kombu's Redis transport restores it from its unacked index
once the visibility timeout passed, flagged the same way.  Past the cap the
next worker moves it to the dead-letter queue instead of running it.
"""
from __future__ import annotations

from typing import Any

import pytest

from celery.app.dead_letter_store import open_dead_letters
from celery.worker.dead_letter import MAX_REDELIVERIES
from celery.worker.redelivery_limit import REDELIVERIES_HEADER
from t.integration.worker.conftest import Scenario, wait_for

pytestmark = pytest.mark.timeout(180)

#: Redis: restore unacked messages 3 s after delivery, sweeping every second.
REDIS_RESTORE = {'visibility_timeout': 3, 'unacked_restore_interval': 1,
                 'unacked_restore_throttle': 1}


def dead_letters(client: Any) -> list[dict[str, Any]]:
    with open_dead_letters(client) as held:
        return [h.letter for h in held]


def test_killed_mid_task_past_the_cap_is_dead_lettered(scenario: Scenario, unique: str) -> None:
    dead_queue = f'dlq.{unique}'
    scenario.conf.update(task_dead_letter_queue=dead_queue, task_max_redeliveries=1)
    if scenario.broker_url.startswith('redis'):
        scenario.conf['broker_transport_options'] = REDIS_RESTORE
    scenario.client.conf.task_dead_letter_queue = dead_queue
    result = scenario.send('slow_late', (120.0, 'crash'))

    # First delivery, then the one redelivery the cap allows: both killed mid-task.
    for attempt in (1, 2):
        worker = scenario.start('-c', '1')
        scenario.wait_events('start', count=attempt, timeout=40, marker='crash')
        worker.kill_tree()

    # The second redelivery is over the cap: dead-lettered, never started.
    survivor = scenario.start('-c', '1')
    assert wait_for(lambda: len(dead_letters(scenario.client)) == 1, timeout=40), \
        survivor.output
    (letter,) = dead_letters(scenario.client)
    assert letter['reason'] == MAX_REDELIVERIES
    assert letter['task_id'] == result.id
    assert letter['task'] == 'workerapp.slow_late'
    assert letter['queue'] == scenario.queue
    assert letter['detail'] == 'redelivered 2 times'
    assert letter['headers']['id'] == result.id
    assert letter['headers'][REDELIVERIES_HEADER] == 1  # the redelivery it was allowed
    assert len(scenario.events('start')) == 2
    assert scenario.queue_size() == 0
    assert survivor.proc.poll() is None

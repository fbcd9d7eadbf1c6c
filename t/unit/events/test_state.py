"""The cluster model built from events."""
from __future__ import annotations

import time

from celery.events.state import State, heartbeat_expires


def ev(type_: str, clock: int = 0, **fields):
    now = time.time()
    return dict(type=type_, hostname=fields.pop('hostname', 'w1@x'), timestamp=now,
                local_received=now, clock=clock, **fields)


def test_worker_online_heartbeat_offline() -> None:
    state = State()
    state.event(ev('worker-online', freq=2.0, pid=10, sw_ident='py-celery'))
    worker = state.workers['w1@x']
    assert worker.alive and worker.status_string == 'ONLINE'
    assert worker.pid == 10 and worker.freq == 2.0 and worker.sw_ident == 'py-celery'
    state.event(ev('worker-offline'))
    assert not worker.alive and state.alive_workers() == []


def test_heartbeat_expiry_window_is_twice_freq() -> None:
    assert heartbeat_expires(100.0, freq=2.0) == 104.0


def test_out_of_order_task_events_keep_final_state() -> None:
    state = State()
    state.event(ev('task-succeeded', clock=5, uuid='a', result='3', runtime=0.1))
    state.event(ev('task-started', clock=4, uuid='a'))
    state.event(ev('task-received', clock=3, uuid='a', name='t.add', args='(1, 2)',
                   kwargs='{}', retries=0))
    task = state.tasks['a']
    assert task.state == 'SUCCESS'
    assert task.name == 't.add' and task.args == '(1, 2)' and task.result == '3'
    assert task.received and task.started and task.succeeded
    assert state.task_count == 1 and state.event_count == 3


def test_indexes_and_ordering() -> None:
    state = State()
    for clock, uuid in enumerate(('a', 'b', 'c'), start=1):
        state.event(ev('task-received', clock=clock, uuid=uuid, name='t.x'))
    assert [uuid for uuid, _ in state.tasks_by_time()] == ['c', 'b', 'a']
    assert [uuid for uuid, _ in state.tasks_by_type('t.x', limit=2)] == ['c', 'b']
    assert {t.uuid for t in state.tasks_by_type['t.x']} == {'a', 'b', 'c'}
    assert [uuid for uuid, _ in state.tasks_by_worker('w1@x')] == ['c', 'b', 'a']
    assert state.task_types() == ['t.x']


def test_task_sent_records_client_and_children() -> None:
    state = State()
    state.event(ev('task-sent', uuid='p', name='t.parent', hostname='client@x'))
    state.event(ev('task-received', clock=2, uuid='c', name='t.child', parent_id='p',
                   root_id='p'))
    assert state.tasks['p'].client == 'client@x' and state.tasks['p'].state == 'PENDING'
    assert state.tasks['c'].parent is state.tasks['p']
    assert state.tasks['c'] in state.tasks['p'].children


def test_memory_limits() -> None:
    state = State(max_tasks_in_memory=2, max_workers_in_memory=1)
    for uuid in 'abc':
        state.event(ev('task-received', uuid=uuid, name='t'))
    state.event(ev('worker-online', hostname='w2@x'))
    assert len(state.tasks) == 2 and len(state.workers) == 1


def test_clear_keeps_unfinished_tasks() -> None:
    state = State()
    state.event(ev('task-received', uuid='a', name='t'))
    state.event(ev('task-succeeded', clock=2, uuid='b'))
    state.clear(ready=True)
    assert list(state.tasks.keys()) == ['a'] and state.event_count == 0


def test_freeze_while_and_callback() -> None:
    seen = []
    state = State(callback=lambda s, e: seen.append(e['type']))
    state.event(ev('worker-heartbeat'))
    assert seen == ['worker-heartbeat']
    assert state.freeze_while(lambda: len(state.workers)) == 1


def test_worker_keeps_what_it_was_built_with():
    from celery.events.state import Worker
    worker = Worker('w1@x', pid=42, freq=2.0, clock=None, active=1, processed=7,
                    loadavg=[0.1, 0.2, 0.3], sw_ident='py-celery', sw_ver='5.7', sw_sys='Linux')
    assert worker.as_dict() == {
        'hostname': 'w1@x', 'pid': 42, 'freq': 2.0, 'heartbeats': [], 'clock': 0,
        'active': 1, 'processed': 7, 'loadavg': [0.1, 0.2, 0.3],
        'sw_ident': 'py-celery', 'sw_ver': '5.7', 'sw_sys': 'Linux'}
    beats = [1.0]
    assert Worker('w2@x', heartbeats=beats).heartbeats is beats
    assert Worker().as_dict()['freq'] == 60

"""What monitors (Flower, ``celery events``) read from the event State has Celery's types."""
from __future__ import annotations

import json
import pickle
import time

from celery.events.state import State, Task, Worker


def _events(uuid: str, hostname: str = 'w1@host', name: str = 'proj.add') -> list[dict]:
    now = time.time()
    base = {'uuid': uuid, 'hostname': hostname, 'local_received': now}
    return [
        {'type': 'worker-online', 'hostname': hostname, 'timestamp': now,
         'local_received': now, 'freq': 2.0, 'pid': 42},
        dict(base, type='task-received', name=name, args='(2, 2)', kwargs='{}',
             timestamp=now, clock=1),
        dict(base, type='task-started', timestamp=now + 0.1, clock=2),
        dict(base, type='task-succeeded', result='4', runtime=0.1, timestamp=now + 0.2,
             clock=3),
    ]


def _state(*uuids: str) -> State:
    state = State()
    for uuid in uuids:
        for event in _events(uuid):
            state.event(event)
    return state


def test_as_dict_gives_the_worker_object() -> None:
    task = _state('t1').tasks['t1']
    data = task.as_dict()
    assert isinstance(data['worker'], Worker)
    assert data['worker'].hostname == 'w1@host'
    # What Flower's /api/tasks does with it: the rest serializes as JSON.
    data['worker'] = data.pop('worker').hostname
    assert json.loads(json.dumps(data))['result'] == '4'


def test_as_dict_without_worker_and_related_tasks_by_id() -> None:
    state = State()
    state.event({'type': 'task-sent', 'uuid': 'p', 'hostname': 'client', 'name': 'x',
                 'timestamp': 1.0})
    state.event({'type': 'task-sent', 'uuid': 'c', 'hostname': 'client', 'name': 'x',
                 'parent_id': 'p', 'root_id': 'p', 'timestamp': 2.0})
    parent = state.tasks['p'].as_dict()
    assert parent['worker'] is None and parent['children'] == ['c']
    child = state.tasks['c'].as_dict()
    assert child['parent'] == 'p' and child['root'] == 'p'


def test_task_id_is_its_uuid() -> None:
    assert Task('abc').id == 'abc'
    child = _state('t1').tasks['t1']
    # Flower's task page links children by ``child.id``.
    assert [c.id for c in [child]] == ['t1']


def test_tasks_by_timestamp_lists_like_tasks_by_time() -> None:
    state = _state('t1', 't2')
    assert [uuid for uuid, _ in state.tasks_by_timestamp()] == ['t2', 't1']
    assert list(state.tasks_by_timestamp(reverse=False)) == list(
        state.tasks_by_time(reverse=False))
    assert [uuid for uuid, _ in state.tasks_by_timestamp(limit=1)] == ['t2']


def test_rebuild_taskheap_from_the_tasks_held() -> None:
    state = _state('t1', 't2')
    state._taskheap[:] = []
    assert list(state.tasks_by_time()) == []
    state.rebuild_taskheap()
    assert [uuid for uuid, _ in state.tasks_by_time()] == ['t2', 't1']


def test_worker_fields_and_heartbeat_limit() -> None:
    worker = _state('t1').workers['w1@host']
    assert Worker.heartbeat_max == 4
    info = {key: getattr(worker, key) for key in worker._fields}
    assert info['hostname'] == 'w1@host' and info['pid'] == 42 and info['freq'] == 2.0
    assert isinstance(info['heartbeats'], list) and worker.alive is True
    for offset in range(10):
        worker.event('heartbeat', time.time(), time.time() + offset)
    assert len(worker.heartbeats) == Worker.heartbeat_max


def test_state_pickles_with_its_tasks_and_workers() -> None:
    state = _state('t1', 't2')
    state.event({'type': 'task-sent', 'uuid': 'c', 'hostname': 'client', 'name': 'x',
                 'parent_id': 't1', 'timestamp': time.time(), 'clock': 9})
    copy = pickle.loads(pickle.dumps(state))
    assert set(copy.tasks) == {'t1', 't2', 'c'}
    assert copy.workers['w1@host'].pid == 42
    assert copy.tasks['t1'].worker is copy.workers['w1@host']
    assert copy.tasks['c'].parent is copy.tasks['t1']
    assert [c.uuid for c in copy.tasks['t1'].children] == ['c']
    assert [uuid for uuid, _ in copy.tasks_by_timestamp()] == ['c', 't2', 't1']
    assert copy.task_types() == ['proj.add', 'x']
    assert {t.uuid for t in copy.tasks_by_worker['w1@host']} == {'t1', 't2'}
    # The copy keeps recording events.
    for event in _events('t3'):
        copy.event(event)
    assert copy.tasks['t3'].state == 'SUCCESS'


def test_subclass_state_like_flowers_records_events() -> None:
    class EventsState(State):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.seen: list[str] = []

        def event(self, event):
            super().event(event)
            task = self.tasks.get(event.get('uuid'))
            self.seen.append(task.state if task else event['type'])

    state = EventsState()
    for event in _events('t1'):
        state.event(event)
    assert state.seen == ['worker-online', 'RECEIVED', 'STARTED', 'SUCCESS']

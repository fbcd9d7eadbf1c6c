"""events.state with the events Celery 5.7 copes with: odd, early, late or copied."""
from __future__ import annotations

import copy
import pickle
import time
from decimal import Decimal

from celery.events.state import State, Worker, heartbeat_expires


def ev(type_: str, **fields):
    now = time.time()
    return dict(type=type_, hostname=fields.pop('hostname', 'w1@x'), timestamp=now,
                local_received=now, **fields)


def busy_state() -> State:
    state = State()
    state.event(ev('worker-online'))
    state.event(ev('task-received', uuid='p', name='t.parent'))
    state.event(ev('task-received', uuid='c', name='t.child', parent_id='p', root_id='p'))
    state.event(ev('task-succeeded', uuid='c', result='1'))
    return state


def assert_same_cluster(copied: State, original: State) -> None:
    assert set(copied.tasks) == set(original.tasks) == {'p', 'c'}
    assert set(copied.workers) == {'w1@x'}
    assert copied.tasks['c'].state == 'SUCCESS'
    assert copied.tasks['c'].parent is copied.tasks['p']
    assert [t.uuid for t in copied.tasks['p'].children] == ['c']
    assert [uuid for uuid, _ in copied.tasks_by_time()] == ['c', 'p']
    copied.event(ev('task-received', uuid='n', name='t.new'))  # still usable
    assert 'n' in copied.tasks and 'n' not in original.tasks


def test_state_pickles() -> None:
    state = busy_state()
    assert_same_cluster(pickle.loads(pickle.dumps(state)), state)


def test_state_deep_copies() -> None:
    state = busy_state()
    assert_same_cluster(copy.deepcopy(state), state)


def test_worker_event_without_hostname_reaches_the_callback() -> None:
    seen = []
    state = State(callback=lambda st, event: seen.append(event['type']))
    assert state.event({'type': 'worker-heartbeat', 'timestamp': time.time()}) is None
    assert seen == ['worker-heartbeat'] and not state.workers


def test_offline_of_an_unknown_worker_calls_on_node_leave() -> None:
    left = []
    state = State(on_node_leave=left.append)
    (worker, created), subject = state.event(ev('worker-offline', hostname='gone@x'))
    assert subject == 'offline' and not created
    assert left == [worker] and worker.hostname == 'gone@x' and not worker.alive


def test_online_of_a_known_worker_calls_on_node_join_again() -> None:
    joined = []
    state = State(on_node_join=joined.append)
    state.event(ev('worker-online'))
    state.event(ev('worker-offline'))
    state.event(ev('worker-online'))
    assert len(joined) == 2


def test_child_seen_before_its_parent_is_linked_later() -> None:
    state = State()
    state.event(ev('task-received', uuid='c', name='t.child', parent_id='p'))
    assert state.tasks['c'].parent is None
    state.event(ev('task-received', uuid='p', name='t.parent'))
    assert state.tasks['c'].parent is state.tasks['p']
    assert [t.uuid for t in state.tasks['p'].children] == ['c']
    assert not state._orphans


def test_tasks_waiting_for_their_parent_stay_bounded() -> None:
    state = State(max_tasks_in_memory=10)
    for n in range(100):
        state.event(ev('task-received', uuid=f'c{n}', name='t', parent_id=f'p{n}'))
    assert len(state._orphans) <= 10


def test_decimal_timestamps() -> None:
    now = Decimal(str(time.time()))
    assert heartbeat_expires(now, freq=2) == float(now) + 4
    worker = Worker('w1@x', freq=2)
    worker.event('heartbeat', now, now)
    assert worker.alive and worker.heartbeat_expires == float(now) + 4
    state = State()
    state.event(dict(type='worker-heartbeat', hostname='w2@x', timestamp=now,
                     local_received=now, freq=2))
    assert state.workers['w2@x'].alive

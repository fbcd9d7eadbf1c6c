"""``celery.events.state`` and the dispatcher: module names monitors (Flower) read."""
from __future__ import annotations

from collections import defaultdict

from celery import Celery
from celery.events import state as state_module
from celery.events.dispatcher import EventDispatcher
from celery.events.state import (
    R_STATE,
    R_TASK,
    R_WORKER,
    CallableDefaultdict,
    State,
    Task,
    Worker,
    with_unique_field,
)


def test_callable_defaultdict_indexes_and_calls():
    index = CallableDefaultdict(lambda key: f'called {key}', list)
    index['a'].append(1)
    assert isinstance(index, defaultdict) and index == {'a': [1]}
    assert index('x') == 'called x'
    assert isinstance(State().tasks_by_type, CallableDefaultdict)


def test_with_unique_field_defines_equality_and_hash():
    @with_unique_field('key')
    class Thing:
        def __init__(self, key, other):
            self.key, self.other = key, other

    assert Thing(1, 'a') == Thing(1, 'b') and Thing(1, 'a') != Thing(2, 'a')
    assert len({Thing(1, 'a'), Thing(1, 'b')}) == 1
    assert Worker(hostname='w') == Worker(hostname='w', pid=3)
    assert Task(uuid='u') == Task(uuid='u') and Task(uuid='u') != Worker(hostname='u')


def test_repr_formats():
    state = State()
    assert repr(state) == R_STATE.format(state) == '<State: events=0 tasks=0>'
    task = Task(uuid='u1', name='add')
    assert repr(task) == R_TASK.format(task)
    worker = Worker(hostname='w1')
    assert repr(worker) == R_WORKER.format(worker) + '>' == '<Worker: w1 (OFFLINE clock:0)>'
    assert state_module.PYPY is False


def test_event_methods_take_celery_parameter_names():
    state = State()
    state.worker_event(type_='online', fields={'hostname': 'w1', 'timestamp': 1})
    state.task_event(type_='received', fields={'uuid': 'u1', 'hostname': 'w1', 'name': 'add'})
    assert state.tasks['u1'].name == 'add' and 'w1' in state.workers
    state.workers['w1'].update(f={'pid': 7}, sw_ver='5')
    assert (state.workers['w1'].pid, state.workers['w1'].sw_ver) == (7, '5')
    assert state.freeze_while(len, state.tasks, clear_after=True) == 1


def test_dispatcher_publisher_and_callback_sets():
    app = Celery('disp', broker='memory://', set_as_current=False)
    assert EventDispatcher.on_enabled is None and EventDispatcher.on_disabled is None
    with app.connection_for_write() as conn:
        dispatcher = EventDispatcher(conn, app=app, enabled=False)
        assert dispatcher.on_enabled == set() and dispatcher.on_disabled == set()
        sentinel = object()
        dispatcher.publisher = sentinel
        assert dispatcher.producer is sentinel and dispatcher.publisher is sentinel

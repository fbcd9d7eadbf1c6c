"""Migration helpers, on kombu's in-memory transport."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from kombu import Connection, Exchange, Queue

from celery import Celery
from celery.contrib import migrate as mig
from celery.contrib.migrate import (
    State,
    filter_status,
    migrate_tasks,
    move,
    move_by_idmap,
    move_direct_by_id,
    prepare_queues,
    republish,
    task_id_eq,
    task_id_in,
)


class RecordingProducer:
    def __init__(self) -> None:
        self.published: list[tuple] = []

    def publish(self, body, **kwargs) -> None:
        self.published.append((body, kwargs))


def fake_message(**overrides):
    fields = {
        'body': b'{"x": 1}',
        'headers': {'id': 'tid', 'task': 'tasks.add', 'compression': 'zlib'},
        'properties': {'correlation_id': 'tid', 'reply_to': 'rq', 'priority': 3,
                       'delivery_tag': 7, 'body_encoding': 'base64', 'expiration': '5000',
                       'delivery_info': {'exchange': 'x'}},
        'delivery_info': {'exchange': 'ex', 'routing_key': 'rk'},
        'content_type': 'application/json', 'content_encoding': 'utf-8',
    }
    fields.update(overrides)
    return SimpleNamespace(**fields)


@pytest.fixture
def mem_app(unique):
    app = Celery(f'mig-{unique}', broker='memory://', set_as_current=False,
                 config_source={'task_default_queue': f'src-{unique}'})
    yield app
    app.close()


def test_state_progress_text():
    state = State()
    assert (state.strtotal, repr(state)) == ('?', '0/?')
    state.count, state.total_apx = 2, 10
    assert repr(state) == '2/10'
    state.filtered = 3
    assert repr(state) == '^3'


@pytest.mark.parametrize('given,expected', [
    (None, {}),
    ('a:b,c', {'a': 'b', 'c': 'c'}),
    (['a:b', 'c'], {'a': 'b', 'c': 'c'}),
    ({'a': 'z'}, {'a': 'z'}),
])
def test_prepare_queues(given, expected):
    assert prepare_queues(given) == expected


def test_republish_forwards_raw_message():
    producer = RecordingProducer()
    message = fake_message()
    republish(producer, message)
    body, kwargs = producer.published[0]
    assert body == b'{"x": 1}'
    assert kwargs['exchange'] == 'ex' and kwargs['routing_key'] == 'rk'
    assert kwargs['compression'] == 'zlib'
    assert kwargs['headers'] == {'id': 'tid', 'task': 'tasks.add'}
    assert kwargs['expiration'] == 5.0  # milliseconds on the wire, seconds for the producer
    assert kwargs['correlation_id'] == 'tid' and kwargs['priority'] == 3
    for bookkeeping in ('delivery_tag', 'body_encoding', 'delivery_info'):
        assert bookkeeping not in kwargs
    assert 'compression' in message.headers  # the received message is left alone


def test_republish_to_other_destination_and_removing_props():
    producer = RecordingProducer()
    republish(producer, fake_message(body='text'), exchange='', routing_key='other',
              remove_props=['reply_to'])
    body, kwargs = producer.published[0]
    assert body == b'text'
    assert (kwargs['exchange'], kwargs['routing_key']) == ('', 'other')
    assert 'reply_to' not in kwargs


def test_migrate_task_maps_names():
    producer = RecordingProducer()
    mig.migrate_task(producer, None, fake_message(), queues={'ex': 'ex2', 'rk': 'rk2'})
    _, kwargs = producer.published[0]
    assert (kwargs['exchange'], kwargs['routing_key']) == ('ex2', 'rk2')


def test_task_id_predicates_read_protocol_1_and_2():
    v2 = fake_message()
    v1 = fake_message(headers={}, properties={})
    assert task_id_eq('tid', None, v2)
    assert task_id_eq('old', {'id': 'old', 'task': 't'}, v1)
    assert task_id_in({'tid', 'other'}, None, v2)
    assert not task_id_in({'other'}, None, v2)


def test_filter_status_prints_progress(capsys):
    state = State()
    state.filtered, state.total_apx = 1, 4
    filter_status(state, None, fake_message())
    assert capsys.readouterr().out.strip() == 'Moving task 1/4: tasks.add[tid]'


def drain(conn, name):
    queue = Queue(name, Exchange(name), name)(conn.default_channel)
    queue.declare()
    found = []
    while (message := queue.get(no_ack=True)) is not None:
        found.append(message)
    return found


def test_migrate_tasks_between_memory_connections(mem_app, unique):
    ids = [mem_app.send_task('tasks.add', args=(i,)).id for i in range(3)]
    seen = []
    with Connection('memory://') as source, Connection('memory://') as dest:
        state = migrate_tasks(source, dest, app=mem_app, queues={f'src-{unique}': f'dst-{unique}'},
                              ack_messages=True, timeout=0.05,
                              callback=lambda st, body, message: seen.append(body[0]))
        assert state.count == 3
        assert seen == [[0], [1], [2]]
        assert [m.headers['id'] for m in drain(dest, f'dst-{unique}')] == ids
        assert drain(source, f'src-{unique}') == []


def test_limit_stops_after_acking_the_last_message(mem_app, unique):
    for i in range(3):
        mem_app.send_task('tasks.add', args=(i,))
    with Connection('memory://') as conn:
        state = migrate_tasks(conn, conn, app=mem_app, queues={f'src-{unique}': f'dst-{unique}'},
                              ack_messages=True, limit=2, timeout=0.05)
        assert state.count == 2
        assert len(drain(conn, f'dst-{unique}')) == 2
    with Connection('memory://') as conn:
        assert len(drain(conn, f'src-{unique}')) == 1


def test_undecodable_messages_are_still_moved(mem_app, unique):
    with Connection('memory://') as conn:
        conn.Producer().publish(b'\x80not pickle', exchange='', routing_key=f'src-{unique}',
                                content_type='application/x-python-serialize',
                                content_encoding='binary', headers={'id': 'x1', 'task': 't'},
                                declare=[Queue(f'src-{unique}', Exchange(f'src-{unique}'),
                                               f'src-{unique}')])
        state = migrate_tasks(conn, conn, app=mem_app, queues={f'src-{unique}': f'dst-{unique}'},
                              ack_messages=True, timeout=0.05)
        assert state.count == 1
        assert [m.body for m in drain(conn, f'dst-{unique}')] == [b'\x80not pickle']


def test_move_with_predicate_and_exchange_pair(mem_app, unique):
    ids = [mem_app.send_task('tasks.add', args=(i,)).id for i in range(3)]
    dst = Queue(f'dst-{unique}', Exchange(f'dst-{unique}'), f'dst-{unique}')
    with Connection('memory://') as conn:
        dst(conn.default_channel).declare()
        state = move(lambda body, message: (dst.exchange.name, dst.routing_key)
                     if body[0] == [1] else None,
                     connection=conn, app=mem_app, source=[f'src-{unique}'], timeout=0.05)
        assert state.filtered == 1
        assert [m.headers['id'] for m in drain(conn, f'dst-{unique}')] == [ids[1]]


def test_move_by_idmap_stops_when_all_found(mem_app, unique):
    ids = [mem_app.send_task('tasks.add', args=(i,)).id for i in range(4)]
    dst = Queue(f'dst-{unique}', Exchange(f'dst-{unique}'), f'dst-{unique}')
    with Connection('memory://') as conn:
        state = move_by_idmap({ids[0]: dst, ids[1]: dst}, connection=conn, app=mem_app,
                              source=[f'src-{unique}'], timeout=5)
        assert state.filtered == 2
        assert [m.headers['id'] for m in drain(conn, f'dst-{unique}')] == ids[:2]


def test_move_direct_by_id_targets_the_worker_queue(mem_app, unique):
    task_id = mem_app.send_task('tasks.add', args=(1,)).id
    hostname = f'w-{unique}@host'
    with Connection('memory://') as conn:
        state = move_direct_by_id(task_id, hostname, connection=conn, app=mem_app,
                                  source=[f'src-{unique}'], timeout=1)
        assert state.filtered == 1
        direct = Queue(f'{hostname}.dq2', Exchange('C.dq2', 'direct'), hostname)
        direct = direct(conn.default_channel)
        direct.declare()
        message = direct.get(no_ack=True)
        assert message is not None and message.headers['id'] == task_id


@pytest.mark.parametrize(('answer', 'expected'), [
    (('ex', 'rk'), ('ex', 'rk')),
    (['ex', 'rk'], ('ex', 'rk')),
    (True, ('default-ex', 'default-rk')),
    # A two-letter name is a truthy answer, not an (exchange, routing_key) pair.
    ('q1', ('default-ex', 'default-rk')),
    (('a', 'b', 'c'), ('default-ex', 'default-rk')),
])
def test_expand_dest_only_unpacks_real_pairs(answer, expected):
    assert mig.expand_dest(answer, 'default-ex', 'default-rk') == expected

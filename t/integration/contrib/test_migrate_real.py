"""Migrating and moving task messages on the real brokers."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from kombu import Connection, Exchange, Queue

from celery import Celery
from t.servers import AMQP_URL, REDIS_URL
from celery.contrib.migrate import (
    State,
    migrate_tasks,
    move_by_taskmap,
    move_task_by_id,
    task_id_of,
)

AMQP = AMQP_URL
REDIS = REDIS_URL


def queue_named(name: str) -> Queue:
    return Queue(name, Exchange(name), routing_key=name)


def drain(url: str, name: str, expected: int, timeout: float = 5.0) -> list:
    """Take (and ack) the messages of queue ``name``: at least ``expected`` of them."""
    import time
    messages = []
    deadline = time.monotonic() + timeout
    with Connection(url) as conn:
        queue = queue_named(name)(conn.default_channel)
        queue.declare()
        while True:
            message = queue.get(no_ack=True)
            if message is not None:
                messages.append(message)
                continue
            if len(messages) >= expected or time.monotonic() > deadline:
                return messages
            time.sleep(0.05)


@pytest.fixture
def queues(unique: str) -> Iterator[tuple[str, str]]:
    names = (f'migrate-src-{unique}', f'migrate-dst-{unique}')
    yield names
    for url in (AMQP, REDIS):
        with Connection(url) as conn:
            for name in names:
                try:
                    queue_named(name)(conn.default_channel).delete()
                except conn.channel_errors:
                    pass


def make_app(unique: str, broker: str, queue: str) -> Celery:
    return Celery(f'migrate-{unique}', broker=broker, set_as_current=False,
                  config_source={'task_default_queue': queue})


def send_tasks(app: Celery, count: int, name: str = 'tasks.add') -> list[str]:
    return [app.send_task(name, args=(i, i), kwargs={'n': i}).id for i in range(count)]


@pytest.mark.parametrize('source_url', [AMQP, REDIS], ids=['amqp-to-amqp', 'redis-to-amqp'])
def test_migrate_tasks_renames_queue_and_keeps_messages_intact(unique, queues, source_url):
    src, dst = queues
    app = make_app(unique, source_url, src)
    ids = send_tasks(app, 5)
    with Connection(source_url) as source, Connection(AMQP) as dest:
        state = migrate_tasks(source, dest, app=app, queues={src: dst},
                              ack_messages=True, limit=5, timeout=5)
    assert state.count == 5
    moved = drain(AMQP, dst, expected=5)
    assert sorted(task_id_of(m.decode(), m) for m in moved) == sorted(ids)
    first = next(m for m in moved if m.headers['id'] == ids[0])
    assert first.headers['task'] == 'tasks.add'
    assert first.decode() == [[0, 0], {'n': 0}, {'callbacks': None, 'errbacks': None,
                                                'chain': None, 'chord': None}]
    assert first.content_type == 'application/json'
    assert first.properties['correlation_id'] == ids[0]
    assert drain(source_url, src, expected=0, timeout=0.2) == []
    app.close()


def test_unacked_migration_copies_and_keeps_the_source(unique, queues):
    src, dst = queues
    app = make_app(unique, AMQP, src)
    ids = send_tasks(app, 3)
    with Connection(AMQP) as source, Connection(AMQP) as dest:
        state = migrate_tasks(source, dest, app=app, queues=f'{src}:{dst}', timeout=0.5)
    assert state.count == 3
    assert state.total_apx == 3
    assert len(drain(AMQP, dst, expected=3)) == 3
    assert sorted(m.headers['id'] for m in drain(AMQP, src, expected=3)) == sorted(ids)
    app.close()


def test_migrate_only_named_tasks(unique, queues):
    src, dst = queues
    app = make_app(unique, AMQP, src)
    wanted = send_tasks(app, 2, name='tasks.wanted')
    send_tasks(app, 2, name='tasks.other')
    with Connection(AMQP) as source, Connection(AMQP) as dest:
        state = migrate_tasks(source, dest, app=app, queues={src: dst}, tasks='tasks.wanted',
                              ack_messages=True, timeout=0.5)
    assert state.count == 2
    assert sorted(m.headers['id'] for m in drain(AMQP, dst, expected=2)) == sorted(wanted)
    left = drain(AMQP, src, expected=2)
    assert {m.headers['task'] for m in left} == {'tasks.other'}
    app.close()


def test_move_task_by_id_moves_only_that_task(unique, queues):
    src, dst = queues
    app = make_app(unique, AMQP, src)
    ids = send_tasks(app, 4)
    moved: list[State] = []
    state = move_task_by_id(ids[2], queue_named(dst), app=app, source=[src], timeout=2,
                            callback=lambda st, body, message: moved.append(st.filtered))
    assert state.filtered == 1 and moved == [1]
    assert [m.headers['id'] for m in drain(AMQP, dst, expected=1)] == [ids[2]]
    assert sorted(m.headers['id'] for m in drain(AMQP, src, expected=3)) == \
        sorted(ids[:2] + ids[3:])
    app.close()


def test_move_by_taskmap_routes_by_name(unique, queues):
    src, dst = queues
    app = make_app(unique, REDIS, src)
    send_tasks(app, 2, name='tasks.keep')
    heavy = send_tasks(app, 2, name='tasks.heavy')
    state = move_by_taskmap({'tasks.heavy': queue_named(dst)}, app=app, source=[src],
                            timeout=0.5)
    assert state.filtered == 2
    assert sorted(m.headers['id'] for m in drain(REDIS, dst, expected=2)) == sorted(heavy)
    assert {m.headers['task'] for m in drain(REDIS, src, expected=2)} == {'tasks.keep'}
    app.close()


def test_celery_migrate_command(unique, queues):
    from celery.bin.celery import celery
    src, dst = queues
    app = make_app(unique, REDIS, src)
    ids = send_tasks(app, 3)
    result = CliRunner().invoke(
        celery, ['migrate', '-Q', f'{src}:{dst}', '-a', '-n', '3', '-t', '5', REDIS, AMQP],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert 'Migrating task 1/3: tasks.add[' in result.output
    assert 'Migrated 3 tasks.' in result.output
    assert sorted(m.headers['id'] for m in drain(AMQP, dst, expected=3)) == sorted(ids)
    app.close()

"""A group's members published from a template are the messages each would be on its own.

Each case publishes the same group twice, with the same group and member
ids: once through :class:`celery.app.bulk.BulkSender`'s template (the first
member the whole way, the others from its message) and once with every
member sent the whole way (``Signature.apply_async``), and compares the raw
messages read off the broker field by field: body bytes, headers (in order),
properties and delivery info on RabbitMQ; the stored payload on Redis (its
random delivery tag aside).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from kombu import Queue

from celery import chord, group, signals, transport
from celery.app import bulk
from t.integration.messages.conftest import is_amqp, take
from t.integration.messages.test_direct_publish import comparable, raw_redis_payloads

SIZE = 6


@pytest.fixture
def tasks(broker_app):
    """Two tasks (one keeping its result) and a chord body."""
    @broker_app.task(name='bulk.add', shared=False, ignore_result=True)
    def add(x, y=0, z=0):
        return x + y + z

    @broker_app.task(name='bulk.mul', shared=False)
    def mul(x, y=1):
        return x * y

    @broker_app.task(name='bulk.tsum', shared=False)
    def tsum(values):
        return sum(values)
    return add, mul, tsum


@pytest.fixture
def templated(monkeypatch):
    """Count members sent from a template; ``templated.off()`` sends each the whole way."""
    sent: list[str] = []
    real = bulk.BulkSender._send_like

    def counting(self, template, args, kwargs, options):
        sent.append(options['task_id'])
        return real(self, template, args, kwargs, options)
    monkeypatch.setattr(bulk.BulkSender, '_send_like', counting)

    encoded: list[int] = []
    real_template = bulk.template_publisher

    def counting_template(*args, **kwargs):
        fast = real_template(*args, **kwargs)
        if fast is None:
            return None

        def publish(*values):
            done = fast(*values)
            encoded.append(done)
            return done
        return publish
    monkeypatch.setattr(bulk, 'template_publisher', counting_template)

    def off() -> None:
        monkeypatch.setattr(bulk.BulkSender, '_plain_task', lambda self, sig: None)

    def on() -> None:
        monkeypatch.setattr(bulk.BulkSender, '_plain_task', real_plain)
    real_plain = bulk.BulkSender._plain_task
    counting.sent = sent
    counting.encoded = encoded
    counting.off, counting.on = off, on
    return counting


def _members(tasks, queue: str, unique: str, case: str, run: int):
    add, mul, tsum = tasks
    ids = [f'{unique}-{case}-{index}' for index in range(SIZE)]
    if case == 'kwargs':
        return [add.s(index, z=index).set(task_id=ids[index], queue=queue) for index in range(SIZE)]
    if case == 'unicode':
        return [add.s(f'é☃ {index}', '\udcff').set(task_id=ids[index], queue=queue)
                for index in range(SIZE)]
    if case == 'mixed':
        return [(add if index % 2 else mul).s(index, 2).set(task_id=ids[index], queue=queue)
                for index in range(SIZE)]
    if case == 'links':
        return [add.s(index, 1).set(task_id=ids[index], queue=queue,
                                    link=mul.si(2).set(task_id=f'{unique}-cb'),
                                    link_error=mul.si(3).set(task_id=f'{unique}-eb'))
                for index in range(SIZE)]
    if case == 'nested':
        half = SIZE // 2
        return [group(add.s(index, 1).set(task_id=ids[index], queue=queue)
                      for index in range(half)),
                *(add.s(index, 1).set(task_id=ids[index], queue=queue)
                  for index in range(half, SIZE))]
    return [add.s(index, 1).set(task_id=ids[index], queue=queue) for index in range(SIZE)]


#: Options given to the group's apply_async (every member gets them).
CASES = {
    'plain': {},
    'kwargs': {},
    'unicode': {},
    'mixed': {},
    'links': {},
    'nested': {},
    'priority': {'priority': 4},
    'compression': {'compression': 'zlib'},
    'msgpack': {'serializer': 'msgpack'},
    'pickle': {'serializer': 'pickle'},
    'headers': {'headers': {'x-trace': 'abc', 'n': 7}},
    'transient': {'delivery_mode': 1},
    'root_and_parent': {'root_id': 'the-root', 'parent_id': 'the-parent'},
    'shadow': {'shadow': 'shown-as'},
    'reprs': {'argsrepr': '(hidden)', 'kwargsrepr': '{hidden}'},
    'time_limits': {'time_limit': 30, 'soft_time_limit': 20},
    'expires': {'expires': datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc)},
    'stamped': {'stamped_headers': ['color'], 'color': 'blue'},
}


def _publish(tasks, queue: str, unique: str, case: str, run: int) -> None:
    members = _members(tasks, queue, unique, case, run)
    group(members).apply_async(task_id=f'{unique}-{case}-group', **CASES[case])


def _read_runs(app, reader, queue: str, runs: int = 2) -> list[list]:
    """The messages of ``runs`` publishing runs on ``queue``, in order, run by run."""
    if is_amqp(app):
        # One consumer for all: a second one would find the first holding
        # the messages it prefetched.
        messages = [comparable(raw) for raw in take(reader, queue, SIZE * runs)]
    else:
        reader.queues.append(Queue(queue))
        messages = raw_redis_payloads(app, queue)[::-1]   # LPUSH: newest first
        for payload in messages:
            assert json.loads(payload)['headers']['group'].endswith('-group')
    assert len(messages) == SIZE * runs
    return [messages[run * SIZE:(run + 1) * SIZE] for run in range(runs)]


@pytest.mark.parametrize('case', sorted(CASES))
def test_templated_members_are_the_single_messages(broker_app, tasks, reader, unique,
                                                   templated, case):
    queue = f'tpl-{case}-{unique}'
    reader.declare(Queue(queue))
    for run, fast in enumerate((False, True)):
        (templated.on if fast else templated.off)()
        _publish(tasks, queue, unique, case, run)
    whole_way, from_template = _read_runs(broker_app, reader, queue)
    assert from_template == whole_way
    if case in ('expires', 'mixed'):
        # A countdown/expiry is computed per message; alternating tasks never repeat.
        assert templated.sent == []
    else:
        assert len(templated.sent) >= SIZE - 2, 'the template was not used'
    if case not in ('expires', 'mixed', 'compression', 'links'):
        # Encoded once for the batch, on the owned transports (not for compressed bodies).
        assert (bool(templated.encoded) and all(templated.encoded)) == transport.ENABLED


def test_chord_header_members_from_template(broker_app, tasks, reader, unique, templated):
    add, mul, tsum = tasks
    broker_app.conf.result_backend = 'redis://127.0.0.1:6379/0'
    queue = f'tpl-chord-{unique}'
    reader.declare(Queue(queue))
    for fast in (False, True):
        (templated.on if fast else templated.off)()
        header = [mul.s(index, 2).set(task_id=f'{unique}-ch-{index}', queue=queue)
                  for index in range(SIZE)]
        chord(group(header, task_id=f'{unique}-group'),
              tsum.s().set(task_id=f'{unique}-body', queue=f'{queue}-body')).apply_async()
    reader.queues.append(Queue(f'{queue}-body'))
    whole_way, from_template = _read_runs(broker_app, reader, queue)
    assert from_template == whole_way
    assert len(templated.sent) == SIZE - 1


def test_publish_signal_receivers_see_every_member(broker_app, tasks, reader, unique, templated):
    add = tasks[0]
    queue = f'tpl-signal-{unique}'
    reader.declare(Queue(queue))
    seen: list[str] = []

    def receiver(headers=None, **kwargs):
        seen.append(headers['id'])
    signals.before_task_publish.connect(receiver, weak=False)
    try:
        result = group(add.s(index, 1).set(queue=queue) for index in range(SIZE)).apply_async()
    finally:
        signals.before_task_publish.disconnect(receiver)
    assert seen == [member.id for member in result.results]
    assert templated.sent == []


@pytest.mark.skipif(not transport.ENABLED, reason='stock transports publish batches at once')
def test_bad_member_arguments_fail_before_the_batch_is_written(broker_app, tasks, reader,
                                                              unique, templated):
    add = tasks[0]
    queue = f'tpl-typing-{unique}'
    reader.declare(Queue(queue))
    members = [add.s(index, 1).set(queue=queue) for index in range(3)]
    members.append(add.s(1, 2, 3, 4).set(queue=queue))   # one argument too many
    with pytest.raises(TypeError):
        group(members).apply_async()
    # The batch was dropped with the error: nothing reached the broker.
    add.apply_async((9, 9), queue=queue)
    assert reader.get(queue).decode()[0] == [9, 9]


def test_protocol_1_members_go_the_whole_way(broker_app, tasks, reader, unique, templated):
    broker_app.conf.task_protocol = 1
    add = tasks[0]
    queue = f'tpl-v1-{unique}'
    reader.declare(Queue(queue))
    result = group(add.s(index, 1).set(queue=queue) for index in range(3)).apply_async()
    assert templated.sent == []
    bodies = [raw.decode() for raw in take(reader, queue, 3)] if is_amqp(broker_app) else [
        reader.get(queue).decode() for _ in range(3)]
    assert sorted(body['id'] for body in bodies) == sorted(r.id for r in result.results)
    assert all(body['task'] == 'bulk.add' for body in bodies)

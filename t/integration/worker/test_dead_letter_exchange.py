"""task_dead_letter_exchange: RabbitMQ itself moves what the worker rejects to the DLQ."""
from __future__ import annotations

from typing import Any

import pytest
from amqp.exceptions import PreconditionFailed
from click.testing import CliRunner
from kombu import Queue

from celery.app.dead_letter_store import open_dead_letters
from celery.bin.base import CLIContext
from celery.bin.dlq import dlq
from celery.exceptions import Reject
from t.integration.worker.conftest import wait_for

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.parametrize('broker_url', ['amqp'], indirect=True)]


def letters(app: Any) -> list[dict[str, Any]]:
    with open_dead_letters(app) as held:
        return [h.letter for h in held]


def declares_without_arguments(app: Any, name: str) -> bool:
    """Whether RabbitMQ accepts ``name`` declared with no arguments (it refuses other ones)."""
    with app.connection_for_write() as connection:
        try:
            Queue(name, durable=True)(connection.channel()).declare()
        except PreconditionFailed:
            return False
    return True


def test_rejected_messages_reach_the_dlq_through_rabbitmq(make_app: Any, run_worker: Any,
                                                          unique: str) -> None:
    dead_queue = f'dlq.{unique}'
    app = make_app(task_dead_letter_queue=dead_queue, task_dead_letter_exchange=True)
    queue = app.conf.task_default_queue
    assert app.amqp.queues[queue].queue_arguments == {
        'x-dead-letter-exchange': dead_queue, 'x-dead-letter-routing-key': dead_queue}

    @app.task(name=f'refuse.{unique}', acks_late=True)  # Reject settles late messages only
    def refuse() -> None:
        raise Reject('not today', requeue=False)

    run_worker(app)
    assert not declares_without_arguments(app, queue)
    refused = refuse.delay()
    unknown = app.send_task(f'unknown.{unique}')
    assert wait_for(lambda: len(letters(app)) == 2, timeout=30), letters(app)
    by_task = {letter['task_id']: letter for letter in letters(app)}
    assert set(by_task) == {refused.id, unknown.id}
    for letter in by_task.values():
        # One copy each (RabbitMQ's), not one from the worker as well.
        assert letter['reason'] == 'rejected'
        assert letter['queue'] == queue
        assert letter['id'] == letter['task_id']
        assert letter['time'] > 0
    assert by_task[unknown.id]['task'] == f'unknown.{unique}'

    runner = CliRunner()
    obj = CLIContext(app=app, no_color=True, workdir=None)
    listed = runner.invoke(dlq, ['list', '--reason', 'rejected'], obj=obj)
    assert listed.exit_code == 0 and '2 dead letter(s).' in listed.output, listed.output
    # Replayed with the same id and without RabbitMQ's x-death headers, to a queue we read.
    target = f'replayed.{unique}'
    with app.connection_for_write() as connection:
        Queue(target, durable=True)(connection.default_channel).declare()
    replayed = runner.invoke(dlq, ['replay', unknown.id, '--queue', target], obj=obj)
    assert replayed.exit_code == 0, replayed.output
    with app.connection_for_write() as connection:
        message = Queue(target, durable=True)(connection.default_channel).get(accept=['json'])
        assert message is not None
        assert message.headers['id'] == unknown.id
        assert 'x-death' not in message.headers
        message.ack()
        Queue(target)(connection.default_channel).delete()
    assert [letter['task_id'] for letter in letters(app)] == [refused.id]
    runner.invoke(dlq, ['purge', '-f'], obj=obj)


def test_off_by_default_queues_are_declared_without_arguments(make_app: Any, run_worker: Any,
                                                               unique: str) -> None:
    app = make_app(task_dead_letter_queue=f'dlq.{unique}')  # the worker's own copies only
    queue = app.conf.task_default_queue
    assert app.amqp.queues[queue].queue_arguments is None
    run_worker(app)
    assert declares_without_arguments(app, queue)

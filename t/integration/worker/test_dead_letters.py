"""task_dead_letter_queue on a real worker, and ``celery dlq`` over what it moved."""
from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner, Result

from celery.app.dead_letter_store import DeadLetterFilter, open_dead_letters
from celery.bin.base import CLIContext
from celery.bin.dlq import dlq
from t.integration.worker.conftest import wait_for

pytestmark = pytest.mark.timeout(120)


def letters(app: Any) -> list[dict[str, Any]]:
    """The envelopes now in the dead-letter queue (left in place)."""
    with open_dead_letters(app) as held:
        return [h.letter for h in held]


def run_dlq(app: Any, *args: str) -> Result:
    return CliRunner().invoke(dlq, list(args), obj=CLIContext(app=app, no_color=True,
                                                               workdir=None))


def test_moved_listed_replayed_and_purged(make_app: Any, run_worker: Any, unique: str,
                                          scenario: Any) -> None:
    dead_queue = f'dlq.{unique}'
    app = make_app(task_dead_letter_queue=dead_queue)

    @app.task(bind=True, name=f'flaky.{unique}', max_retries=1, default_retry_delay=0)
    def flaky(self: Any) -> None:
        raise self.retry(exc=ValueError('still broken'), countdown=0)

    @app.task(name=f'ok.{unique}')
    def ok() -> str:
        return 'ok'

    run_worker(app)
    unknown = app.send_task('workerapp.add', (40, 2))
    flaky_result = flaky.delay()
    with app.producer_or_acquire() as producer:
        producer.publish(b'\xff{not json', routing_key=app.conf.task_default_queue,
                         exchange=app.conf.task_default_queue, content_type='application/json',
                         content_encoding='utf-8', headers={'task': ok.name, 'id': 'bad-' + unique})
    assert wait_for(lambda: len(letters(app)) >= 3, timeout=30), letters(app)
    by_reason = {letter['reason']: letter for letter in letters(app)}
    assert set(by_reason) == {'unregistered', 'max_retries', 'malformed'}
    assert by_reason['unregistered']['task_id'] == unknown.id
    assert by_reason['unregistered']['queue'] == app.conf.task_default_queue
    assert by_reason['max_retries']['task_id'] == flaky_result.id
    assert by_reason['malformed']['headers']['id'] == 'bad-' + unique
    assert all(letter['hostname'] == f'test-{app.main}@localhost' for letter in letters(app))

    listed = run_dlq(app, 'list', '--reason', 'unregistered')
    assert listed.exit_code == 0, listed.output
    assert by_reason['unregistered']['id'] in listed.output
    assert '1 dead letter(s).' in listed.output
    shown = run_dlq(app, 'show', by_reason['max_retries']['id'])
    assert shown.exit_code == 0 and flaky_result.id in shown.output

    # Bad input: a clear error, and nothing lost.
    missing = run_dlq(app, 'show', 'no-such-id')
    assert missing.exit_code == 1 and 'No dead letter with id no-such-id' in missing.output
    nowhere = run_dlq(app, 'replay', by_reason['unregistered']['id'], '--queue', f'no.{unique}')
    assert nowhere.exit_code == 1 and 'does not exist' in nowhere.output
    assert len(letters(app)) == 3

    # A worker that has the task registered runs the replayed message, same id.
    scenario.start()
    replayed = run_dlq(app, 'replay', '--task', 'workerapp.add', '--queue', scenario.queue)
    assert replayed.exit_code == 0, replayed.output
    assert scenario.client.AsyncResult(unknown.id).get(timeout=20) == 42
    assert {letter['reason'] for letter in letters(app)} == {'max_retries', 'malformed'}

    purged = run_dlq(app, 'purge', '-f', '--reason', 'malformed')
    assert purged.exit_code == 0 and '1 dead letter(s) purged.' in purged.output
    assert [letter['reason'] for letter in letters(app)] == ['max_retries']
    run_dlq(app, 'purge', '-f')
    assert letters(app) == []


def test_older_than_filter(make_app: Any, run_worker: Any, unique: str) -> None:
    app = make_app(task_dead_letter_queue=f'dlq.{unique}')
    run_worker(app)
    app.send_task(f'unknown.{unique}')
    assert wait_for(lambda: len(letters(app)) == 1, timeout=20)
    with open_dead_letters(app) as held:
        assert not DeadLetterFilter(older_than=3600).matches(held[0].letter)
    listed = run_dlq(app, 'list', '--older-than', '3600')
    assert '0 dead letter(s).' in listed.output
    if app.conf.broker_url.startswith('redis'):
        with app.connection_for_write() as connection:  # on Redis a dead-letter queue is a list
            assert connection.default_channel.client.type(f'dlq.{unique}') == b'list'
    run_dlq(app, 'purge', '-f')


def test_replay_with_a_new_id(make_app: Any, run_worker: Any, unique: str) -> None:
    app = make_app(task_dead_letter_queue=f'dlq.{unique}')
    run_worker(app)
    first = app.send_task(f'unknown.{unique}')
    assert wait_for(lambda: len(letters(app)) == 1, timeout=20)
    replayed = run_dlq(app, 'replay', '--new-id')
    assert replayed.exit_code == 0, replayed.output
    # Still unknown to the worker: dead-lettered again, under the new id.

    def again() -> bool:
        now = letters(app)
        return len(now) == 1 and now[0]['task_id'] != first.id
    assert wait_for(again, timeout=20), letters(app)
    assert letters(app)[0]['task'] == f'unknown.{unique}'
    run_dlq(app, 'purge', '-f')

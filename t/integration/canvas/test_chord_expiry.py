"""Redis chord join: a chord whose stored keys expire fails its body (issue 21).

Worker and client use a one second ``result_chord_expires``; a header task
sleeping past it finds the chord's keys gone.
"""
from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest

from celery import chord
from celery.exceptions import ChordError

from .conftest import AMQP_URL, REDIS_BACKEND, REDIS_BROKER, start_worker, stop_worker
from .waiting import TIMEOUT, task, wait_list

CHORD_EXPIRES = 1
#: Long enough past CHORD_EXPIRES for Redis to have dropped the keys.
LATE = 3 * CHORD_EXPIRES


@pytest.fixture(scope='module', params=['amqp', 'redis'])
def expiring(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Client app and live worker whose chord keys live one second."""
    from .canvasapp import make_app
    broker = AMQP_URL if request.param == 'amqp' else REDIS_BROKER
    queue = f'canvas-expiry-{uuid.uuid4().hex[:10]}'
    worker = start_worker(broker, REDIS_BACKEND, queue,
                          extra_env={'CANVAS_CHORD_EXPIRES': str(CHORD_EXPIRES)})
    app = make_app(broker, REDIS_BACKEND, queue, chord_expires=CHORD_EXPIRES)
    try:
        yield app
    finally:
        stop_worker(worker)
        app.close()


def test_header_outliving_the_chord_keys_fails_the_body(expiring):
    add, sleep, xsum = (task(expiring, n) for n in ('add', 'sleep', 'xsum'))
    res = chord([add.si(1, 1), sleep.si(LATE)], xsum.s()).apply_async()
    with pytest.raises(ChordError, match='expired'):
        res.get(timeout=TIMEOUT)
    # Nothing of the chord is left behind in Redis.
    client, gid = expiring.backend.client, res.parent.id
    assert not client.exists(*(expiring.backend.get_key_for_group(gid, s)
                               for s in ('.j', '.t', '.s', '.m')))


def test_errbacks_of_an_expired_chord_are_called(expiring):
    sleep, xsum = task(expiring, 'sleep'), task(expiring, 'xsum')
    record = task(expiring, 'record_errback')
    key = f'canvas-expiry-errback-{uuid.uuid4().hex}'
    body = xsum.s().on_error(record.s(key=key))
    res = chord([sleep.si(LATE)], body).apply_async()
    with pytest.raises(ChordError):
        res.get(timeout=TIMEOUT)
    assert wait_list(expiring, key, 1) == [res.id]


def test_a_quick_chord_completes_with_short_lived_keys(expiring):
    add, xsum = task(expiring, 'add'), task(expiring, 'xsum')
    res = chord([add.si(i, i) for i in range(6)], xsum.s()).apply_async()
    assert res.get(timeout=TIMEOUT) == 30


def test_a_chord_sent_without_marker_completes(expiring, monkeypatch):
    # A Celery client records only the size (SET ``.s`` with the chord TTL).
    backend = expiring.backend

    def celery_client_set_chord_size(group_id: str, chord_size: int) -> None:
        backend.set(backend.get_key_for_group(group_id, '.s'), chord_size,
                    backend.chord_expires)

    monkeypatch.setattr(backend, 'set_chord_size', celery_client_set_chord_size)
    add, sleep, xsum = (task(expiring, n) for n in ('add', 'sleep', 'xsum'))
    res = chord([add.si(2, 2), sleep.si(0.2), add.si(3, 3)], xsum.s()).apply_async()
    assert res.get(timeout=TIMEOUT) == 4 + 0.2 + 6

"""Redis native chord join: a chord whose keys expired fails its body (issue 21).

Expiry is simulated by deleting the size key the way Redis would drop it;
the marker (``.m``) is what lets a late header task tell that apart from
"the size isn't recorded yet".
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from celery import Celery, states
from celery.backends.redis_chord import MARKER_GRACE
from celery.exceptions import ChordError

pytest.importorskip('redis')


@pytest.fixture
def app(unique: str, redis_backend_url: str) -> Iterator[Celery]:
    application = Celery(f'redis-chord-{unique}', set_as_current=False,
                         broker='memory://', backend=redis_backend_url)
    application.conf.result_chord_expires = 60
    application.conf.result_backend_transport_options = {
        'global_keyprefix': f'chordexpiry{unique}_'}
    try:
        yield application
    finally:
        client = application.backend.client
        for key in client.scan_iter(f'chordexpiry{unique}_*'):
            client.delete(key)
        application.close()


@pytest.fixture
def body(app: Celery) -> Any:
    @app.task(name='t.collect')
    def collect(values: list[Any]) -> list[Any]:
        return values
    sig = collect.s()
    sig.freeze()
    return sig


@pytest.fixture
def sent(app: Celery, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Bodies the join would send (instead of publishing them)."""
    calls: list[Any] = []
    monkeypatch.setattr(app.backend, 'call_chord_body',
                        lambda gid, callback, values: calls.append(values))
    return calls


def _part(app: Celery, gid: str, index: int, body: Any, value: Any = None) -> None:
    request = SimpleNamespace(id=f'{gid}-{index}', group=gid, group_index=index,
                              chord=dict(body))
    app.backend.on_chord_part_return(request, states.SUCCESS, index if value is None else value)


def _key(app: Celery, gid: str, suffix: str) -> bytes:
    return app.backend.get_key_for_group(gid, suffix)


def test_size_and_marker_share_the_chords_time_to_live(app, unique):
    backend = app.backend
    backend.set_chord_size(unique, 2)
    assert 0 < backend.client.ttl(_key(app, unique, '.s')) <= 60
    marker_ttl = backend.client.ttl(_key(app, unique, '.m'))
    assert 60 < marker_ttl <= 60 + MARKER_GRACE


def test_a_normal_chord_completes_and_cleans_up(app, unique, body, sent):
    app.backend.set_chord_size(unique, 3)
    for index in range(3):
        _part(app, unique, index, body)
    assert sent == [[0, 1, 2]]
    assert not app.backend.client.exists(*(_key(app, unique, s) for s in ('.j', '.s', '.m')))


def test_parts_before_the_size_is_recorded_wait(app, unique, body, sent):
    # The sender records the size just before the last header task goes out.
    _part(app, unique, 0, body)
    _part(app, unique, 1, body)
    app.backend.set_chord_size(unique, 3)
    assert app.backend.client.ttl(_key(app, unique, '.j')) > 0
    _part(app, unique, 2, body)
    assert sent == [[0, 1, 2]]
    assert app.AsyncResult(body.id).state == states.PENDING


def test_a_chord_without_marker_behaves_as_celery(app, unique, body, sent):
    # A Celery client writes no marker: a missing size means "wait", always.
    app.backend.set_chord_size(unique, 2)
    app.backend.client.delete(_key(app, unique, '.m'))
    _part(app, unique, 0, body)
    _part(app, unique, 1, body)
    assert sent == [[0, 1]]
    app.backend.client.delete(_key(app, unique, '.s'))
    _part(app, unique, 2, body)
    assert app.AsyncResult(body.id).state == states.PENDING


def test_expired_keys_fail_the_body_once(app, unique, body, sent, monkeypatch):
    failures: list[BaseException] = []
    fail_body = app.backend.chord_error_from_stack
    monkeypatch.setattr(app.backend, 'chord_error_from_stack',
                        lambda callback, exc: (failures.append(exc), fail_body(callback, exc)))
    app.backend.set_chord_size(unique, 3)
    _part(app, unique, 0, body)
    client = app.backend.client
    client.delete(_key(app, unique, '.j'), _key(app, unique, '.t'), _key(app, unique, '.s'))
    _part(app, unique, 1, body)
    result = app.AsyncResult(body.id)
    assert result.state == states.FAILURE
    assert isinstance(result.result, ChordError)
    assert 'expired' in str(result.result) and 'result_chord_expires=60' in str(result.result)
    assert not client.exists(_key(app, unique, '.m'), _key(app, unique, '.j'))
    # The last header task finds the chord already failed: nothing happens twice.
    _part(app, unique, 2, body)
    assert sent == []
    assert len(failures) == 1


def test_a_duplicate_after_the_body_ran_does_not_fail_it(app, unique, body, sent):
    # A Celery worker finishing the chord deletes the keys but not our marker.
    app.backend.set_chord_size(unique, 1)
    client = app.backend.client
    client.delete(_key(app, unique, '.s'))
    app.backend.mark_as_done(body.id, [0])
    _part(app, unique, 0, body)
    assert app.AsyncResult(body.id).state == states.SUCCESS


def test_keys_that_never_expire_need_no_marker(app, unique, body, sent):
    app.conf.result_chord_expires = 0
    app.backend.__dict__.pop('chord_expires', None)
    app.backend.set_chord_size(unique, 1)
    assert app.backend.client.ttl(_key(app, unique, '.s')) == -1
    assert not app.backend.client.exists(_key(app, unique, '.m'))
    _part(app, unique, 0, body)
    assert sent == [[0]]

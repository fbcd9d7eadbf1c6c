"""A failed chord fails every task of a body that is a chain, group or chord."""
from __future__ import annotations

from celery import chain, chord, group
from celery.exceptions import ChordError


def _states(app, sigs):
    return [app.AsyncResult(s.id).state for s in sigs]


def test_plain_body_is_failed(app, add):
    body = add.s(1)
    body.freeze()
    app.backend.chord_error_from_stack(body, ChordError('header failed'))
    assert isinstance(app.AsyncResult(body.id).result, ChordError)


def test_chain_body_fails_every_step(app, add):
    body = chain(add.s(1), add.s(2), add.s(3))
    body.freeze()
    app.backend.chord_error_from_stack(body, ChordError('header failed'))
    assert _states(app, body.tasks) == ['FAILURE'] * 3


def test_group_and_chord_bodies_fail_every_task(app, add):
    inner = chord([add.si(1, 1), add.si(2, 2)], add.s(1))
    body = group(add.s(1), inner)
    body.freeze()
    app.backend.chord_error_from_stack(body, ChordError('header failed'))
    frozen_inner = body.tasks[1]
    tasks = [body.tasks[0], *frozen_inner.tasks.tasks, frozen_inner.body]
    assert _states(app, tasks) == ['FAILURE'] * 4


def test_unfrozen_body_is_logged_not_raised(app, add):
    assert app.backend.chord_error_from_stack(chain(add.s(1), add.s(2)),
                                              ChordError('x')) is None

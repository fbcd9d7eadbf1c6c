"""Chains holding chords, groups and empty steps, as Celery 5.7 runs them (issue 21)."""
from __future__ import annotations

import json
import uuid

import pytest

from celery import chain, chord, group, signature
from celery.canvas import _chain
from celery.exceptions import ChordError

from .waiting import TIMEOUT, list_now, task, wait_list


def _key(prefix: str) -> str:
    return f'canvas-{prefix}-{uuid.uuid4().hex}'


# -- a failing chord header inside a chain ---------------------------------------

@pytest.mark.parametrize('body_is_group', [False, True])
def test_failing_chord_header_fails_every_later_chord(canvas, body_is_group):
    add, fail, xsum, record = (task(canvas, n) for n in ('add', 'fail', 'xsum', 'record'))
    key = _key('after-failure')
    first_body = group(record.s(key), record.s(key)) if body_is_group else record.s(key)
    workflow = chain(
        add.si(1, 1),
        chord([add.s(1), fail.s(), add.s(2)], first_body),
        chord([record.si(1, key), record.si(2, key)], xsum.s()),
        chord([record.si(3, key), record.si(4, key)], record.s(key)),
    )
    res = workflow.apply_async()
    with pytest.raises(Exception) as info:
        res.get(timeout=TIMEOUT)
    assert type(info.value).__name__ == 'ExpectedError'
    # The last chord's body never runs, but it fails rather than leave callers waiting.
    with pytest.raises(ChordError):
        res.get(timeout=TIMEOUT, follow_parents=False)
    assert list_now(canvas, key) == []


# -- chains of chords ------------------------------------------------------------

def test_chain_of_nine_explicit_chords(canvas):
    identity, xsum = task(canvas, 'identity'), task(canvas, 'xsum')
    steps = [chord([identity.s(), identity.s()], xsum.s()) for _ in range(9)]
    res = chain(identity.si(1), *steps).apply_async()
    assert res.get(timeout=TIMEOUT) == 2 ** 9


def test_chain_of_nine_implicit_chords(canvas):
    identity, xsum = task(canvas, 'identity'), task(canvas, 'xsum')
    workflow = identity.si(1)
    for _ in range(9):
        workflow = workflow | group(identity.s(), identity.s()) | xsum.s()
    assert workflow.apply_async().get(timeout=TIMEOUT) == 2 ** 9


def test_group_in_the_middle_of_a_chain_is_a_chord(canvas):
    add, identity = task(canvas, 'add'), task(canvas, 'identity')
    res = (add.si(1, 1) | group(add.s(10), add.s(20)) | identity.s()).apply_async()
    assert res.get(timeout=TIMEOUT) == [12, 22]


@pytest.mark.parametrize('build', ['chain', 'raw_chain'])
def test_chain_from_json_starting_with_group(canvas, build):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    steps = [group(add.si(1, 1), add.si(2, 2)), xsum.s(), add.s(10)]
    original = chain(*steps) if build == 'chain' else _chain(steps, app=canvas)
    restored = signature(json.loads(json.dumps(original)), app=canvas)
    assert restored.apply_async().get(timeout=TIMEOUT) == 16
    assert original.apply_async().get(timeout=TIMEOUT) == 16


def test_frozen_chain_id_is_its_last_task(canvas):
    add = task(canvas, 'add')
    workflow = chain(add.si(1, 1), add.s(2), add.s(3))
    frozen = workflow.freeze()
    assert frozen.id == workflow.tasks[-1].id
    res = workflow.apply_async()
    assert res.id == frozen.id
    assert res.get(timeout=TIMEOUT) == 7


# -- empty groups ----------------------------------------------------------------

def test_group_followed_by_empty_groups(canvas):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    res = chain(group(add.si(1, 1), add.si(2, 2)), group(), group(), xsum.s()).apply_async()
    assert res.get(timeout=TIMEOUT) == 6


def test_empty_groups_before_chord_body(canvas):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    res = chain(add.si(1, 1), group(add.s(1), add.s(2)), group(), group(), xsum.s()).apply_async()
    assert res.get(timeout=TIMEOUT) == 7
    res = chord([add.si(1, 1), add.si(2, 2)], chain(group(), xsum.s())).apply_async()
    assert res.get(timeout=TIMEOUT) == 6


def test_leading_empty_steps_are_skipped(canvas):
    add = task(canvas, 'add')
    res = chain(group(), group(), add.si(1, 1), add.s(10)).apply_async()
    assert res.get(timeout=TIMEOUT) == 12
    res = chain(chain(), group(), add.s(1, 1)).apply_async()
    assert res.get(timeout=TIMEOUT) == 2


def test_arguments_flow_past_empty_groups(canvas):
    add = task(canvas, 'add')
    res = chain(add.si(1, 1), group(), group(), add.s(10)).apply_async()
    assert res.get(timeout=TIMEOUT) == 12


def test_chain_of_two_groups_as_a_tuple_runs_each_task_once(canvas):
    record = task(canvas, 'record')
    key = _key('tuple-of-groups')
    workflow = chain((group(record.si(1, key), record.si(2, key)),
                      group(record.si(3, key), record.si(4, key))))
    res = workflow.apply_async()
    assert res.get(timeout=TIMEOUT) == [3, 4]
    assert sorted(wait_list(canvas, key, 4)) == ['1', '2', '3', '4']
    assert list_now(canvas, key) == []


# -- replace ---------------------------------------------------------------------

def test_replace_with_chain_containing_group(canvas):
    add, xsum, replace_with, identity = (
        task(canvas, n) for n in ('add', 'xsum', 'replace_with', 'identity'))
    replacement = add.si(1, 1) | group(add.s(1), add.s(2)) | xsum.s()
    res = (add.si(0, 0) | replace_with.si(replacement) | identity.s()).apply_async()
    assert res.get(timeout=TIMEOUT) == 7
    assert replace_with.delay(replacement).get(timeout=TIMEOUT) == 7

"""Chords: countdowns, nesting, parent ids and headers that can't complete (issue 21)."""
from __future__ import annotations

import time
import uuid

import pytest

from celery import chain, chord, group
from celery.exceptions import ChordError
from celery.result import AsyncResult, GroupResult

from .waiting import TIMEOUT, list_now, task, wait_list

COUNTDOWN = 1.0


def _key(prefix: str) -> str:
    return f'canvas-{prefix}-{uuid.uuid4().hex}'


# -- countdown on the header ------------------------------------------------------

@pytest.mark.parametrize('where', ['group', 'each_task'])
def test_header_countdown_delays_header_and_body_fires_once(canvas, where):
    add, record = task(canvas, 'add'), task(canvas, 'record')
    key = _key('countdown-body')
    if where == 'group':
        header = group(add.si(1, 1), add.si(2, 2)).set(countdown=COUNTDOWN)
    else:
        header = group(add.si(1, 1).set(countdown=COUNTDOWN),
                       add.si(2, 2).set(countdown=COUNTDOWN))
    started = time.monotonic()
    res = chord(header, record.s(key)).apply_async()
    assert res.get(timeout=TIMEOUT) == [2, 4]
    assert time.monotonic() - started >= COUNTDOWN
    assert wait_list(canvas, key, 1) == ['[2, 4]']
    assert list_now(canvas, key) == []


# -- nesting and header shapes ----------------------------------------------------

def test_chord_in_chord_body(canvas):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    inner = chord([xsum.s(), xsum.s()], xsum.s())
    res = chord([add.si(1, 1), add.si(2, 2)], inner).apply_async()
    assert res.get(timeout=TIMEOUT) == 12


def test_chord_in_chord_header_with_group_body(canvas):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    inner = chord([add.si(1, 1), add.si(2, 2)], group(xsum.s(), xsum.s()))
    res = chord([inner, add.si(10, 10)], xsum.s()).apply_async()
    assert res.get(timeout=TIMEOUT) == 6 + 6 + 20


def test_chord_with_a_single_task_header(canvas):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    assert chord(add.si(1, 1), xsum.s()).apply_async().get(timeout=TIMEOUT) == 2
    assert chord([add.si(2, 2)], xsum.s()).apply_async().get(timeout=TIMEOUT) == 4


def test_chord_with_an_empty_header_calls_body_with_empty_list(canvas):
    identity = task(canvas, 'identity')
    assert chord([], identity.s()).apply_async().get(timeout=TIMEOUT) == []
    assert chord(group(), identity.s()).apply_async().get(timeout=TIMEOUT) == []


def test_nested_group_in_chain_header(canvas):
    add = task(canvas, 'add')
    workflow = chain(
        add.si(1, 0),
        group(add.si(1, 100), chain(add.si(1, 200), group(add.si(1, 1000), add.si(1, 2000)))),
        add.si(1, 10),
    )
    assert workflow.apply_async().get(timeout=TIMEOUT) == 11


def test_nested_group_in_chain_header_passes_nested_results(canvas):
    add, identity = task(canvas, 'add'), task(canvas, 'identity')
    header = [add.si(1, 1) | group(add.s(1), add.s(2)), add.si(5, 5)]
    assert chord(header, identity.s()).apply_async().get(timeout=TIMEOUT) == [[3, 4], 10]


# -- parent ids ---------------------------------------------------------------------

def _header_ids(res: GroupResult) -> list[dict]:
    return [r.get(timeout=TIMEOUT) for r in res.results]


def test_parent_ids_of_chord_in_chain(canvas):
    ids = task(canvas, 'ids')
    root = ids.si(i=1)
    root_id = root.freeze().id
    workflow = chain(root, ids.si(i=2),
                     chord(group(ids.si(i=i) for i in range(3)), ids.si(i=3)))
    res = workflow.apply_async()
    body = res.get(timeout=TIMEOUT)
    header = res.parent
    assert isinstance(header, GroupResult)
    starter = header.parent
    assert isinstance(starter, AsyncResult) and starter.parent.id == root_id
    header_values = _header_ids(header)
    assert {v['parent_id'] for v in header_values} == {starter.id}
    assert body['parent_id'] in {r.id for r in header.results}
    assert {v['root_id'] for v in [*header_values, body]} == {root_id}
    assert starter.get(timeout=TIMEOUT)['parent_id'] == root_id


def test_parent_ids_of_chord_body_chain(canvas):
    ids = task(canvas, 'ids')
    root = ids.si(i=1)
    root_id = root.freeze().id
    workflow = chain(root, chord([ids.si(i=2), ids.si(i=3)], ids.si(i=4) | ids.si(i=5)))
    res = workflow.apply_async()
    last = res.get(timeout=TIMEOUT)
    first_body_step = res.parent
    header = first_body_step.parent
    assert isinstance(header, GroupResult)
    first = first_body_step.get(timeout=TIMEOUT)
    header_values = _header_ids(header)
    assert {v['parent_id'] for v in header_values} == {root_id}
    assert first['parent_id'] in {r.id for r in header.results}
    assert last['parent_id'] == first_body_step.id
    assert {v['root_id'] for v in [*header_values, first, last]} == {root_id}


def test_parent_ids_of_group_piped_to_task(canvas):
    ids = task(canvas, 'ids')
    root = ids.si(i=1)
    root_id = root.freeze().id
    res = (root | group(ids.si(i=2), ids.si(i=3)) | ids.si(i=4)).apply_async()
    body = res.get(timeout=TIMEOUT)
    header_values = _header_ids(res.parent)
    assert {v['parent_id'] for v in header_values} == {root_id}
    assert body['parent_id'] in {r.id for r in res.parent.results}
    assert {v['root_id'] for v in [*header_values, body]} == {root_id}


# -- headers that can no longer complete -------------------------------------------

def test_revoked_header_task_fails_the_body(canvas):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    late = add.si(2, 2).set(countdown=3)
    res = chord([add.si(1, 1), late], xsum.s()).apply_async()
    late_id = res.parent.results[1].id
    canvas.control.revoke(late_id)
    with pytest.raises(ChordError) as info:
        res.get(timeout=TIMEOUT, follow_parents=False)
    assert late_id in str(info.value)


def test_header_task_expiring_before_it_runs_fails_the_body(canvas):
    add, xsum = task(canvas, 'add'), task(canvas, 'xsum')
    stale = add.si(2, 2).set(countdown=2, expires=1)
    res = chord([add.si(1, 1), stale], xsum.s()).apply_async()
    stale_id = res.parent.results[1].id
    with pytest.raises(ChordError) as info:
        res.get(timeout=TIMEOUT, follow_parents=False)
    assert stale_id in str(info.value)


def test_header_task_lost_with_its_process_fails_the_body(canvas):
    add, die, xsum = task(canvas, 'add'), task(canvas, 'die'), task(canvas, 'xsum')
    res = chord([add.si(1, 1), die.si()], xsum.s()).apply_async()
    lost_id = res.parent.results[1].id
    with pytest.raises(ChordError) as info:
        res.get(timeout=TIMEOUT, follow_parents=False)
    assert lost_id in str(info.value) and 'WorkerLostError' in str(info.value)

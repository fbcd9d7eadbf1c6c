"""Canvas work-flows on a real worker: RabbitMQ+Redis and Redis+Redis."""
from __future__ import annotations

import time
import uuid

import pytest

from celery import chain, chord, group, signature
from celery.exceptions import ChordError
from celery.result import GroupResult

from .waiting import task, wait_list

TIMEOUT = 20


_t = task


def _wait_list(app, key, count, timeout=TIMEOUT):
    return wait_list(app, key, count, timeout)


# -- the "Canvas: Designing Work-flows" chapter ----------------------------------

def test_signature_delay_and_partials(canvas):
    add = _t(canvas, 'add')
    assert add.s(2, 2).delay().get(timeout=TIMEOUT) == 4
    partial = add.s(2)
    assert partial.delay(4).get(timeout=TIMEOUT) == 6
    assert partial.apply_async((8,), countdown=0.1).get(timeout=TIMEOUT) == 10
    assert signature('canvas.add', args=(3, 3), app=canvas).delay().get(timeout=TIMEOUT) == 6


def test_callbacks_and_immutable(canvas):
    add = _t(canvas, 'add')
    res = add.apply_async((2, 2), link=add.s(8))
    assert res.get(timeout=TIMEOUT) == 4
    child = _wait_children(res)
    assert child[0].get(timeout=TIMEOUT) == 12
    res = add.apply_async((2, 2), link=add.si(8, 8))
    assert _wait_children(res)[0].get(timeout=TIMEOUT) == 16


def _wait_children(res, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res.backend.reload_task_result(res.id) if hasattr(res.backend, 'reload_task_result') else None
        res._cache = None
        if res.children:
            return res.children
        time.sleep(0.05)
    raise AssertionError('no children recorded')


def test_chain_passes_results_and_links_parents(canvas):
    add, mul = _t(canvas, 'add'), _t(canvas, 'mul')
    res = (add.s(4, 4) | mul.s(8) | mul.s(10)).delay()
    assert res.get(timeout=TIMEOUT) == 640
    assert res.parent.get(timeout=TIMEOUT) == 64
    assert res.parent.parent.get(timeout=TIMEOUT) == 8
    assert res.parent.parent.parent is None
    assert chain(add.s(4, 4), mul.s(8))().get(timeout=TIMEOUT) == 64
    assert (add.si(1, 1) | add.si(2, 2) | add.si(3, 3)).delay().get(timeout=TIMEOUT) == 6
    assert ~(add.s(1, 1) | add.s(1)) == 3


def test_chain_of_one_and_nested_chains(canvas):
    add = _t(canvas, 'add')
    assert chain(add.s(1, 2)).delay().get(timeout=TIMEOUT) == 3
    nested = chain(chain(add.s(1, 1), add.s(1)), chain(add.s(1), add.s(1)))
    assert len(nested.tasks) == 4
    assert nested.delay().get(timeout=TIMEOUT) == 5


def test_group_results_and_empty_and_one(canvas):
    add = _t(canvas, 'add')
    res = group(add.s(i, i) for i in range(10))()
    assert res.get(timeout=TIMEOUT) == [i + i for i in range(10)]
    assert res.ready() and res.successful() and res.completed_count() == 10
    assert group([]).delay().results == []
    assert group(add.s(2, 2)).delay().get(timeout=TIMEOUT) == [4]
    partial = group(add.s(2), add.s(4)).delay(10)
    assert partial.get(timeout=TIMEOUT) == [12, 14]


def test_group_save_restore(canvas):
    add = _t(canvas, 'add')
    res = group(add.s(i, 1) for i in range(3)).delay()
    res.save()
    restored = GroupResult.restore(res.id, app=canvas)
    assert restored.get(timeout=TIMEOUT) == [1, 2, 3]
    res.delete()


def test_chord_and_chord_call_with_body(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    res = chord(add.s(i, i) for i in range(100))(xsum.s())
    assert res.get(timeout=TIMEOUT) == 9900
    assert isinstance(res.parent, GroupResult)
    assert chord([add.s(2, 2), add.s(4, 4)], xsum.s()).delay().get(timeout=TIMEOUT) == 12


def test_group_piped_to_task_is_chord(canvas):
    add, xsum, mul = _t(canvas, 'add'), _t(canvas, 'xsum'), _t(canvas, 'mul')
    workflow = add.s(1, 1) | group(add.s(i) for i in range(3)) | xsum.s() | mul.s(2)
    assert workflow.delay().get(timeout=TIMEOUT) == 2 * (2 * 3 + 3)
    last_is_group = (add.s(1, 1) | group(add.s(1), add.s(2))).delay()
    assert last_is_group.get(timeout=TIMEOUT) == [3, 4]


def test_empty_chord_header_calls_body(canvas):
    xsum = _t(canvas, 'xsum')
    assert chord([], xsum.s()).delay().get(timeout=TIMEOUT) == 0


def test_map_starmap_chunks(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    assert xsum.map([list(range(10)), list(range(100))]).delay().get(timeout=TIMEOUT) == [45, 4950]
    assert add.starmap(zip(range(10), range(10))).delay().get(timeout=TIMEOUT) == [
        i + i for i in range(10)]
    res = add.chunks(zip(range(100), range(100)), 10)()
    assert res.get(timeout=TIMEOUT) == [[i + i for i in range(j, j + 10)]
                                        for j in range(0, 100, 10)]
    assert len(add.chunks(zip(range(10), range(10)), 5).group().tasks) == 2


def test_group_skew_delays(canvas):
    add = _t(canvas, 'add')
    res = group(add.s(i, i) for i in range(3)).skew(start=0, step=0.2).delay()
    assert res.get(timeout=TIMEOUT) == [0, 2, 4]


# -- failures -------------------------------------------------------------------

@pytest.mark.parametrize('position', [0, 1, 2])
def test_chain_failure_at_each_position(canvas, position):
    add, fail, errback = _t(canvas, 'add'), _t(canvas, 'fail'), _t(canvas, 'record_errback')
    key = f'canvas-errback-{uuid.uuid4().hex}'
    steps = [add.s(1, 1), add.s(1), add.s(1)]
    steps[position] = fail.s() if position else fail.si(0)
    workflow = chain(*steps).on_error(errback.s(key=key))
    res = workflow.delay()
    with pytest.raises(Exception) as info:
        res.get(timeout=TIMEOUT, propagate=True)
    assert type(info.value).__name__ == 'ExpectedError'
    failed_ids = _wait_list(canvas, key, 1)
    node = res
    for _ in range(2 - position):
        node = node.parent
    assert failed_ids == [node.id]


def test_errback_with_request_exc_traceback(canvas):
    fail, errback = _t(canvas, 'fail'), _t(canvas, 'record_errback_request')
    key = f'canvas-oldstyle-{uuid.uuid4().hex}'
    res = fail.apply_async((7,), link_error=errback.s(key=key))
    with pytest.raises(Exception):
        res.get(timeout=TIMEOUT)
    [entry] = _wait_list(canvas, key, 1)
    task_id, exc_name, message = entry.split('|')
    assert task_id == res.id and exc_name == 'ExpectedError' and '7' in message


def test_chord_header_failure_fails_body_with_chord_error(canvas):
    add, fail, xsum = _t(canvas, 'add'), _t(canvas, 'fail'), _t(canvas, 'xsum')
    errback = _t(canvas, 'record_errback')
    key = f'canvas-chord-errback-{uuid.uuid4().hex}'
    body = xsum.s().on_error(errback.s(key=key))
    res = chord([add.s(1, 1), fail.si(1), add.s(2, 2)], body).delay()
    with pytest.raises(ChordError) as info:
        res.get(timeout=TIMEOUT, follow_parents=False)
    assert 'ExpectedError' in str(info.value)
    with pytest.raises(Exception) as info:
        res.get(timeout=TIMEOUT)  # the header's own error comes first
    assert type(info.value).__name__ == 'ExpectedError'
    assert _wait_list(canvas, key, 1) == [res.id]


def test_chord_body_failure(canvas):
    add, fail = _t(canvas, 'add'), _t(canvas, 'fail')
    res = chord([add.s(1, 1), add.s(2, 2)], fail.s()).delay()
    with pytest.raises(Exception) as info:
        res.get(timeout=TIMEOUT)
    assert type(info.value).__name__ == 'ExpectedError'


# -- scale and nesting -----------------------------------------------------------

def test_chord_of_1000(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    started = time.monotonic()
    res = chord((add.si(i, 0) for i in range(1000)), xsum.s()).delay()
    assert res.get(timeout=60) == sum(range(1000))
    assert time.monotonic() - started < 30


def test_nested_chord_in_chain_in_group(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    inner = chain(add.s(1, 1), chord([add.s(1), add.s(2)], xsum.s()), add.s(10))
    res = group(inner, inner.clone(), add.s(5, 5)).delay()
    assert res.get(timeout=TIMEOUT) == [17, 17, 10]


def test_chord_in_chord_header(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    inner = chord([add.s(1, 1), add.s(2, 2)], xsum.s())
    res = chord([inner, add.s(10, 10)], xsum.s()).delay()
    assert res.get(timeout=TIMEOUT) == 26


def test_chain_in_chord_header_and_body(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    header = [add.s(1, 1) | add.s(1), add.s(2, 2) | add.s(2) | add.s(2)]
    res = chord(header, xsum.s() | add.s(100)).delay()
    assert res.get(timeout=TIMEOUT) == 111


def test_group_of_chords(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    res = group(chord([add.s(i, i), add.s(i, 1)], xsum.s()) for i in range(3)).delay()
    assert res.get(timeout=TIMEOUT) == [1, 4, 7]


def test_chain_after_chord_and_chord_in_chain_middle(canvas):
    add, xsum = _t(canvas, 'add'), _t(canvas, 'xsum')
    res = (chord([add.s(1, 1), add.s(2, 2)], xsum.s()) | add.s(1) | add.s(1)).delay()
    assert res.get(timeout=TIMEOUT) == 8
    res = (add.s(1, 1) | chord([add.s(1), add.s(2)], xsum.s()) | add.s(3)).delay()
    assert res.get(timeout=TIMEOUT) == 10


# -- replace, add_to_chord, result graph -----------------------------------------

@pytest.mark.parametrize('kind', ['signature', 'chain', 'group', 'chord'])
def test_replace_with_each_primitive_inside_chain(canvas, kind):
    add, xsum, replace_with = _t(canvas, 'add'), _t(canvas, 'xsum'), _t(canvas, 'replace_with')
    replacement = {
        'signature': add.si(20, 1),
        'chain': add.si(10, 1) | add.s(10),
        'group': group(add.si(10, 1), add.si(5, 5)),
        'chord': chord([add.si(10, 1), add.si(5, 5)], xsum.s()),
    }[kind]
    expected = {'signature': 21, 'chain': 21, 'group': [11, 10], 'chord': 21}[kind]
    res = (add.si(0, 0) | replace_with.si(replacement) | _t(canvas, 'identity').s()).delay()
    assert res.get(timeout=TIMEOUT) == expected


def test_replace_inside_chord_header(canvas):
    add, xsum, replace_with = _t(canvas, 'add'), _t(canvas, 'xsum'), _t(canvas, 'replace_with')
    header = [add.s(1, 1), replace_with.s(add.si(5, 5) | add.s(1))]
    assert chord(header, xsum.s()).delay().get(timeout=TIMEOUT) == 13


def test_add_to_chord(canvas):
    add_to_chord, xsum = _t(canvas, 'add_to_chord'), _t(canvas, 'xsum')
    res = chord([add_to_chord.s(1), _t(canvas, 'add').s(2, 2)], xsum.s()).delay()
    assert res.get(timeout=TIMEOUT) == 1 + 4 + 101


def test_collect_walks_result_graph(canvas):
    add = _t(canvas, 'add')
    res = add.apply_async((1, 1), link=add.s(10))
    res.get(timeout=TIMEOUT)
    _wait_children(res)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            values = [v for _, v in res.collect()]
            break
        except Exception:
            time.sleep(0.05)
    assert values == [2, 12]

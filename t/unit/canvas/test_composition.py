"""Composition rules, JSON round trips and eager execution of canvas primitives."""
from __future__ import annotations

import json

import pytest

from celery import Celery
from celery.canvas import (Signature, StampingVisitor, _chain, chain, chord, chunks, group,
                           maybe_signature, signature, xmap, xstarmap)


def roundtrip(sig, app):
    return Signature.from_dict(json.loads(json.dumps(sig)), app=app)


# -- Signature -----------------------------------------------------------------------

def test_signature_dict_form(add):
    sig = add.s(2, 2, z=1).set(countdown=10)
    assert dict(sig) == {'task': 't.add', 'args': (2, 2), 'kwargs': {'z': 1},
                         'options': {'countdown': 10}, 'subtask_type': None,
                         'immutable': False}  # no chord_size unless set
    assert add.si(1).immutable is True


def test_partial_args_kwargs_options_and_immutable(add):
    sig = add.s(2).set(queue='a')
    clone = sig.clone((4,), {'k': 1}, queue='b', countdown=3)
    assert clone.args == (4, 2) and clone.kwargs == {'k': 1}
    assert clone.options == {'queue': 'b', 'countdown': 3}
    assert sig.args == (2,) and sig.options == {'queue': 'a'}
    frozen = add.si(1, 1)
    assert frozen.clone((5,)).args == (1, 1)
    replaced = sig.replace(args=(9,), options={'priority': 3})
    assert replaced.args == (9,) and replaced.options == {'priority': 3}


def test_group_id_survives_partial_options(add):
    sig = add.s(1, 1).set(group_id='g1')
    assert sig.clone(group_id='other').options['group_id'] == 'g1'


def test_freeze_sets_id_once(add):
    sig = add.s(1, 1)
    res = sig.freeze()
    assert res.id == sig.id == sig.freeze().id


def test_link_error_on_error(add):
    cb, eb = add.s(1), add.s(2)
    sig = add.s(1, 1)
    sig.link(cb)
    sig.link(cb)
    assert sig.on_error(eb) is sig
    assert sig.options['link'] == [cb] and sig.options['link_error'] == [eb]
    assert [s.task for s in sig.flatten_links()] == ['t.add', 't.add']


def test_signature_from_plain_dict_and_unknown_type(app, add):
    assert maybe_signature(None) is None
    sig = signature(dict(add.s(1, 2)), app=app)
    assert isinstance(sig, Signature) and sig.args == (1, 2)
    odd = Signature.from_dict({'task': 'x', 'args': [], 'kwargs': {}, 'options': {},
                               'subtask_type': 'no-such-type', 'immutable': False})
    assert type(odd) is Signature


# -- chain ---------------------------------------------------------------------------

def test_pipe_builds_flat_chain(add):
    c = add.s(1, 1) | add.s(2) | (add.s(3) | add.s(4))
    assert isinstance(c, _chain)
    assert [t.args for t in c.tasks] == [(1, 1), (2,), (3,), (4,)]
    assert [t.args for t in chain(chain(add.s(1, 1), add.s(2)), add.s(3)).tasks] == [
        (1, 1), (2,), (3,)]


def test_chain_of_one_and_group_of_one_unroll(add):
    assert len(chain(add.s(1, 1)).tasks) == 1
    c = add.s(1, 1) | group(add.s(2))
    assert [t.task for t in c.tasks] == ['t.add', 't.add']


def test_group_pipe_task_is_chord_and_chain_group_task_upgrades(add, tsum):
    ch = group(add.s(1, 1), add.s(2, 2)) | tsum.s()
    assert isinstance(ch, chord) and ch.body.task == 't.tsum'
    c = add.s(1, 1) | group(add.s(1), add.s(2)) | tsum.s()
    assert isinstance(c.tasks[-1], chord)
    c2 = chain(group(add.s(1, 1), add.s(2, 2)), tsum.s())
    assert isinstance(c2, chord)
    assert isinstance((ch | add.s(1)).body, _chain)


def test_chain_prepare_steps_reversed_and_parents(app, add):
    c = add.s(1, 1) | add.s(2) | add.s(3)
    tasks, results = c.prepare_steps((), {}, c.tasks, app=app)
    assert [t.args for t in tasks] == [(3,), (2,), (1, 1)]
    assert results[0].parent.id == results[1].id
    assert results[1].parent.id == results[2].id
    frozen = c.freeze()
    assert frozen.parent.parent.parent is None


def test_chain_links_and_errbacks(add):
    eb = add.s(99)
    c = (add.s(1, 1) | add.s(2)).on_error(eb)
    c.link(add.s(100))
    steps = c.unchain_tasks()
    assert all(eb in s.options['link_error'] for s in steps)
    assert steps[-1].options['link'][0].args == (100,)


def test_chain_json_roundtrip(app, add):
    c = add.s(1, 1) | add.s(2)
    back = roundtrip(c, app)
    assert isinstance(back, _chain) and back.subtask_type == 'chain'
    assert [tuple(t.args) for t in back.tasks] == [(1, 1), (2,)]
    assert back['task'] == 'celery.chain'


# -- group ---------------------------------------------------------------------------

def test_group_forms(add):
    assert len(group(add.s(i, i) for i in range(3))) == 3
    assert len(group([add.s(1, 1), add.s(2, 2)])) == 2
    assert len(group(add.s(1, 1), add.s(2, 2))) == 2
    assert len(group([])) == 0
    g = group(add.s(1, 1), add.s(2, 2)).skew(start=1, stop=2, step=1)
    assert [t.options['countdown'] for t in g.tasks] == [1, 2]


def test_group_freeze_and_json(app, add):
    g = group(add.s(1, 1), group(add.s(2, 2), add.s(3, 3)))
    res = g.freeze()
    assert len(res) == 3
    assert [t.options['group_index'] for t in g.tasks] == [0, 1, 2]
    assert {t.options['group_id'] for t in g.tasks} == {res.id}
    back = roundtrip(g, app)
    assert isinstance(back, group) and back['task'] == 'celery.group'


def test_group_link_rules(add):
    g = group(add.s(1, 1), add.s(2, 2))
    g.link(add.s(5))
    assert g.tasks[0].options['link'][0].immutable
    assert 'link' not in g.tasks[1].options
    g.link_error(add.s(6))
    assert all(t.options['link_error'][0].immutable for t in g.tasks)
    with pytest.raises(TypeError):
        g.apply_async(link=add.s(1))


# -- chord ---------------------------------------------------------------------------

def test_chord_json_form_and_roundtrip(app, add, tsum):
    ch = chord([add.s(1, 1), add.s(2, 2)], tsum.s())
    d = json.loads(json.dumps(ch))
    assert d['task'] == 'celery.chord' and d['subtask_type'] == 'chord'
    assert set(d['kwargs']) == {'header', 'body', 'kwargs'}
    back = Signature.from_dict(d, app=app)
    assert isinstance(back, chord) and back.body.task == 't.tsum' and len(back.tasks) == 2


def test_chord_length_hint_counts_nested(add, tsum):
    inner = chord([add.s(1, 1), add.s(2, 2)], tsum.s())
    ch = chord([group(add.s(1, 1), add.s(2, 2)), add.s(1, 1) | add.s(1), inner], tsum.s())
    assert ch.__length_hint__() == 4


def test_chord_freeze_links_body_to_header(add, tsum):
    ch = chord([add.s(1, 1), add.s(2, 2)], tsum.s())
    res = ch.freeze()
    assert res.id == ch.body.id
    assert [r.id for r in res.parent.results] == [t.id for t in ch.tasks.tasks]
    # Members learn of the body when the chord runs, so frozen chords stay small.
    assert all('chord' not in t.options for t in ch.tasks.tasks)


def test_chain_of_chords_message_grows_linearly(add, tsum):
    def size(n):
        steps = [chord([add.s(1), add.s(2)], tsum.s()) for _ in range(n)]
        workflow = chain(add.si(1, 1), *steps)
        tasks, _ = workflow.prepare_steps((), {}, workflow.tasks)
        return len(json.dumps(tasks[0]))
    assert size(9) < 2 * size(4) + 2 * size(5)


def test_chord_without_body_is_an_error(add):
    from celery.exceptions import ChordError
    with pytest.raises(ChordError):
        chord([add.s(1, 1)]).apply_async()


def test_rpc_backend_refuses_chords(unique, add):
    app = Celery(f'rpc-{unique}', set_as_current=False, broker='memory://', backend='rpc://')
    with pytest.raises(NotImplementedError):
        app.backend.ensure_chords_allowed()


# -- map, starmap, chunks ----------------------------------------------------------------

def test_map_starmap_chunks_forms(app, add):
    m = add.map([1, 2])
    assert isinstance(m, xmap) and m['task'] == 'celery.map' and m.immutable
    s = add.starmap([(1, 2)])
    assert isinstance(s, xstarmap) and s['task'] == 'celery.starmap'
    c = add.chunks(zip(range(10), range(10)), 3)
    assert isinstance(c, chunks) and c['task'] == 'celery.chunks'
    assert [len(t.kwargs['it']) for t in c.group().tasks] == [3, 3, 3, 1]
    for sig in (m, s, c):
        assert type(roundtrip(sig, app)) is type(sig)


def test_chunks_apply_async_takes_a_route_name(app, add):
    # route_name is a parameter of apply_async (as on Signature); given to chunks,
    # it used to reach group.apply_async twice (TypeError).
    app.conf.task_always_eager = True
    result = add.chunks(zip(range(4), range(4)), 2).apply_async(route_name='celery.starmap')
    assert result.get() == [[0, 2], [4, 6]]


# -- eager execution ---------------------------------------------------------------------

def test_eager_workflows(app, add, tsum):
    assert (add.s(1, 1) | add.s(2)).apply().get() == 4
    assert group(add.s(1, 1), add.s(2, 2)).apply().get() == [2, 4]
    assert chord([add.s(1, 1), add.s(2, 2)], tsum.s()).apply().get() == 6
    app.conf.task_always_eager = True
    assert (add.s(1, 1) | group(add.s(1), add.s(2)) | tsum.s()).delay().get() == 7
    assert app.tasks['celery.map'](tsum.s(), [[1, 1], [2, 2]]) == [2, 4]
    assert app.tasks['celery.starmap'](add.s(), [(1, 1), (2, 2)]) == [2, 4]
    assert app.tasks['celery.accumulate'](1, 2, 3, index=1) == 2


# -- stamping ------------------------------------------------------------------------------

class MonitoringIdVisitor(StampingVisitor):
    def on_signature(self, sig, **headers):
        return {'monitoring_id': 'm-1'}


def test_stamp_headers_and_visitor_reach_every_task(add, tsum):
    workflow = chain(add.s(1, 1), group(add.s(1), add.s(2)), tsum.s())
    workflow.stamp(visitor=MonitoringIdVisitor(), custom='c')
    tasks = [workflow.tasks[0], *workflow.tasks[-1].tasks.tasks, workflow.tasks[-1].body]
    for task in tasks:
        assert task.options['monitoring_id'] == 'm-1' and task.options['custom'] == 'c'
        assert set(task.options['stamped_headers']) == {'monitoring_id', 'custom'}


def test_stamp_append_and_links(add):
    sig = add.s(1, 1)
    sig.link(add.s(2))
    sig.stamp(tag='a')
    sig.stamp(tag='b', append_stamps=True)
    assert sig.options['tag'] == ['b', 'a']
    assert sig.options['link'][0].options['tag'] in ('a', ['b', 'a'])
    sig.stamp(tag='c')
    assert sig.options['tag'] == 'c'


def test_maybe_signature_passes_other_objects_through(app):
    # Only dicts become signatures; anything else acting as one is kept
    # (django-celery-results' chord tests hand a mock request.chord here).
    from unittest.mock import MagicMock

    from celery.canvas import maybe_signature
    stand_in = MagicMock()
    assert maybe_signature(stand_in, app=app) is stand_in
    assert isinstance(maybe_signature({'task': 'x', 'args': (), 'kwargs': {}, 'options': {}},
                                      app=app), Signature)

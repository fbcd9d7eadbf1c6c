"""Which ids and options freezing gives a signature, a group and a chord."""
from __future__ import annotations

from celery.canvas import chord, group

# -- Signature.freeze --------------------------------------------------------------

def test_signature_takes_the_given_id_only_when_it_has_none(add):
    sig = add.s(1, 1)
    assert sig.freeze('first').id == 'first'
    assert sig.freeze('second').id == 'first'
    assert add.s(1, 1).freeze().id


def test_signature_root_and_parent_ids_follow_the_workflow(add):
    sig = add.s(1, 1).set(root_id='old-root', parent_id='old-parent')
    sig.freeze()
    assert (sig.options['root_id'], sig.options['parent_id']) == ('old-root', 'old-parent')
    sig.freeze(root_id='root', parent_id='parent')
    assert (sig.options['root_id'], sig.options['parent_id']) == ('root', 'parent')


def test_signature_group_id_and_reply_to_only_fill_gaps(app, add):
    sig = add.s(1, 1).set(reply_to='mine')
    sig.freeze(group_id='g1')
    sig.freeze(group_id='g2')
    assert sig.options['group_id'] == 'g1'
    assert sig.options['reply_to'] == 'mine'
    plain = add.s(1, 1)
    plain.freeze()
    assert plain.options['reply_to'] == app.thread_oid
    assert 'group_id' not in plain.options


def test_signature_chord_and_group_index(add, tsum):
    body = tsum.s()
    sig = add.s(1, 1)
    sig.freeze(chord=body, group_index=0)
    assert sig.options['chord'] is body
    assert sig.options['group_index'] == 0
    sig.freeze()
    assert sig.options['chord'] is body and sig.options['group_index'] == 0
    plain = add.s(1, 1)
    plain.freeze()
    assert 'chord' not in plain.options and 'group_index' not in plain.options


def test_signature_freeze_returns_the_tasks_result_class(add):
    sig = add.s(1, 1)
    result = sig.freeze()
    from celery.result import AsyncResult
    assert isinstance(result, AsyncResult) and result.id == sig.id


# -- group.freeze --------------------------------------------------------------------

def test_group_id_prefers_its_own_then_group_id_then_given_id(add):
    assert group(add.s(1, 1)).freeze('given').id == 'given'
    assert group(add.s(1, 1)).freeze('given', group_id='outer').id == 'outer'
    g = group(add.s(1, 1)).set(task_id='own')
    assert g.freeze('given', group_id='outer').id == 'own'
    assert g.options['group_id'] == 'outer'


def test_group_keeps_its_root_and_parent_and_hands_them_to_members(add):
    g = group(add.s(1, 1), add.s(2, 2)).set(root_id='r0')
    g.freeze(root_id='r1', parent_id='p1')
    assert g.options['root_id'] == 'r0' and g.options['parent_id'] == 'p1'
    assert [t.options['root_id'] for t in g.tasks] == ['r0', 'r0']
    assert [t.options['parent_id'] for t in g.tasks] == ['p1', 'p1']


def test_group_members_are_numbered_and_point_at_the_group(add, tsum):
    body = tsum.s()
    g = group(add.s(1, 1), group(add.s(2, 2), add.s(3, 3)))
    result = g.freeze(chord=body, group_index=4)
    assert g.options['chord'] is body and g.options['group_index'] == 4
    assert [t.options['group_index'] for t in g.tasks] == [0, 1, 2]
    assert {t.options['group_id'] for t in g.tasks} == {result.id}
    assert all(t.options['chord'] is body for t in g.tasks)
    assert [r.id for r in result.results] == [t.id for t in g.tasks]


def test_group_replaces_a_list_of_members_in_place(add):
    members = [add.s(1, 1), add.s(2, 2)]
    g = group(members)
    listed = g.tasks
    g.freeze()
    assert g.tasks is listed
    assert all(t.id for t in listed)


# -- chord.freeze --------------------------------------------------------------------

def test_chord_header_becomes_parent_of_the_first_step_of_a_chain_body(add, tsum):
    ch = chord([add.s(1, 1), add.s(2, 2)], tsum.s() | add.s(10) | add.s(100))
    result = ch.freeze()
    first_step = result.parent.parent
    assert first_step.parent.id == ch.tasks.id == ch.id
    assert first_step.parent.parent is None


def test_chord_without_body_returns_the_header_result(add):
    ch = chord([add.s(1, 1), add.s(2, 2)])
    result = ch.freeze()
    assert result.id == ch.tasks.id and len(result.results) == 2


def test_chord_body_ids_come_from_the_caller(add, tsum):
    ch = chord([add.s(1, 1)], tsum.s())
    result = ch.freeze('body-id', group_id='outer', group_index=3)
    assert result.id == 'body-id'
    assert ch.body.options['group_id'] == 'outer' and ch.body.options['group_index'] == 3

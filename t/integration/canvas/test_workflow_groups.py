"""Groups, their errbacks and result sets, as Celery 5.7 runs them (issue 21)."""
from __future__ import annotations

import uuid

import pytest

from celery import chain, group
from celery.result import GroupResult, ResultSet

from .waiting import TIMEOUT, settled, task, wait_list

ERRBACKS = ['record_errback', 'record_errback_request']


def _key(prefix: str) -> str:
    return f'canvas-{prefix}-{uuid.uuid4().hex}'


def test_group_ending_a_chain_inside_a_group_has_its_own_id(canvas):
    add = task(canvas, 'add')
    res = group(add.si(1, 1) | group(add.s(1), add.s(2)), add.si(5, 5)).apply_async()
    assert res.get(timeout=TIMEOUT) == [[3, 4], 10]
    inner = res.results[0]
    assert isinstance(inner, GroupResult)
    assert inner.id != res.id


def test_group_member_group_ids_follow_their_own_group(canvas):
    add, ids = task(canvas, 'add'), task(canvas, 'ids')
    res = group(add.si(1, 1) | group(ids.s(i=1), ids.s(i=2)), ids.si(i=3)).apply_async()
    (first, second), third = res.get(timeout=TIMEOUT)
    inner = res.results[0]
    assert first['group_id'] == second['group_id'] == inner.id
    assert third['group_id'] == res.id


def _errback_values(canvas, errback_name, key, failures):
    # Old-style entries are the failed ids; new-style ones start with it.
    items = wait_list(canvas, key, len(failures))
    return sorted(item.split('|')[0] for item in items)


@pytest.mark.parametrize('errback_name', ERRBACKS)
def test_errbacks_linked_to_group_members_run_once_per_failure(canvas, errback_name):
    add, fail = task(canvas, 'add'), task(canvas, 'fail')
    errback = task(canvas, errback_name)
    key = _key('member-errback')
    members = [fail.si(1).on_error(errback.s(key=key)), add.si(1, 1),
               fail.si(2).on_error(errback.s(key=key))]
    res = group(members).apply_async()
    settled(canvas, *res.results)
    failed = sorted(r.id for r in res.results if r.failed())
    assert len(failed) == 2
    assert _errback_values(canvas, errback_name, key, failed) == failed
    assert canvas.backend.client.llen(key) == 0


@pytest.mark.parametrize('errback_name', ERRBACKS)
def test_errback_linked_to_the_group_runs_once_per_failing_member(canvas, errback_name):
    add, fail = task(canvas, 'add'), task(canvas, 'fail')
    errback = task(canvas, errback_name)
    key = _key('group-errback')
    workflow = group(fail.si(1), add.si(1, 1), fail.si(2))
    workflow.link_error(errback.s(key=key))
    res = workflow.apply_async()
    settled(canvas, *res.results)
    items = wait_list(canvas, key, 2)
    assert len(items) == 2
    if errback_name == 'record_errback_request':
        failed = sorted(r.id for r in res.results if r.failed())
        assert sorted(i.split('|')[0] for i in items) == failed


@pytest.mark.parametrize('errback_name', ERRBACKS)
def test_errback_signature_mutated_after_linking(canvas, errback_name):
    fail, add = task(canvas, 'fail'), task(canvas, 'add')
    errback = task(canvas, errback_name)
    key = _key('mutated-errback')
    errback_sig = errback.s(key='not-this-key')
    members = [fail.si(1).on_error(errback_sig), add.si(1, 1)]
    errback_sig.kwargs['key'] = key
    res = group(members).apply_async()
    settled(canvas, *res.results)
    assert _errback_values(canvas, errback_name, key, [res.results[0].id]) == [
        res.results[0].id]


def test_group_with_empty_chains_returns_the_other_results_in_order(canvas):
    add = task(canvas, 'add')
    res = group(add.si(1, 1), chain(), add.si(2, 2), chain(), add.si(3, 3)).apply_async()
    assert res.get(timeout=TIMEOUT) == [2, 4, 6]


def test_result_set_built_with_add(canvas):
    add = task(canvas, 'add')
    results = ResultSet([], app=canvas)
    for i in range(3):
        results.add(add.delay(i, i))
    assert results.join(timeout=TIMEOUT) == [0, 2, 4]
    assert results.get(timeout=TIMEOUT) == [0, 2, 4]


def test_result_set_grown_after_the_others_are_ready(canvas):
    add = task(canvas, 'add')
    results = ResultSet([add.delay(1, 1)], app=canvas)
    assert results.get(timeout=TIMEOUT) == [2]
    assert results.ready()
    results.add(add.delay(2, 2))
    assert results.get(timeout=TIMEOUT) == [2, 4]
    assert results.join(timeout=TIMEOUT) == [2, 4]


@pytest.mark.parametrize('errback_name', ERRBACKS)
def test_errbacks_returned_by_group_link_error_can_be_changed(canvas, errback_name):
    fail, add = task(canvas, 'fail'), task(canvas, 'add')
    key = _key('mutated-group-errback')
    workflow = group(fail.si(1), add.si(1, 1), fail.si(2))
    for linked in workflow.link_error(task(canvas, errback_name).s(key='not-this-key')):
        linked.kwargs['key'] = key
    res = workflow.apply_async()
    settled(canvas, *res.results)
    assert len(wait_list(canvas, key, 2)) == 2
    assert canvas.backend.client.llen('not-this-key') == 0

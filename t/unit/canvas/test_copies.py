"""Copies of signatures own their links; append-stamping merges values (issue 14)."""
from __future__ import annotations

import copy

import pytest

from celery import chain, chord, group
from celery.canvas import Signature, StampingVisitor


def _linked(add):
    sig = add.s(1, 1)
    sig.link(add.s(10))
    sig.link_error(add.si(0, 0))
    return sig


COPIES = [pytest.param(lambda sig: sig.clone(), id='clone'),
          pytest.param(copy.deepcopy, id='deepcopy')]


# -- links belong to the copy -----------------------------------------------------

@pytest.mark.parametrize('make_copy', COPIES)
def test_copy_is_a_signature_of_the_same_kind(add, tsum, make_copy):
    for sig in (_linked(add), chain(add.s(1, 1), add.s(2)), chord([add.s(1, 1)], tsum.s()),
                group(add.s(1, 1), add.s(2, 2))):
        duplicate = make_copy(sig)
        assert type(duplicate) is type(sig)
        assert duplicate == sig and duplicate is not sig


@pytest.mark.parametrize('make_copy', COPIES)
def test_stamping_a_copy_leaves_the_originals_links_alone(add, make_copy):
    sig = _linked(add)
    duplicate = make_copy(sig)
    duplicate.stamp(tag='copy')
    assert duplicate.options['link'][0].options['tag'] == 'copy'
    assert duplicate.options['link_error'][0].options['tag'] == 'copy'
    assert 'tag' not in sig.options['link'][0].options
    assert 'tag' not in sig.options['link_error'][0].options


@pytest.mark.parametrize('make_copy', COPIES)
def test_freezing_or_setting_a_copys_links_leaves_the_original_alone(add, make_copy):
    sig = _linked(add)
    duplicate = make_copy(sig)
    duplicate.options['link'][0].freeze()
    duplicate.options['link_error'][0].set(queue='elsewhere', immutable=False)
    assert sig.options['link'][0].id is None
    assert 'queue' not in sig.options['link_error'][0].options
    assert sig.options['link_error'][0].immutable


@pytest.mark.parametrize('make_copy', COPIES)
def test_chord_body_and_its_links_belong_to_the_copy(add, tsum, make_copy):
    body = tsum.s()
    body.link(add.s(1))
    workflow = chord([add.s(1, 1)], body)
    duplicate = make_copy(workflow)
    assert duplicate.body == workflow.body and duplicate.body is not workflow.body
    duplicate.body.freeze()
    duplicate.body.options['link'][0].set(countdown=5)
    duplicate.stamp(tag='copy')
    assert workflow.body.id is None
    assert workflow.body.options['link'][0].options == {}
    assert 'tag' not in workflow.body.options


def test_clone_with_extra_options_still_owns_its_links(add):
    sig = _linked(add)
    duplicate = sig.clone(countdown=3)
    duplicate.options['link'][0].set(queue='q')
    assert duplicate.options['countdown'] == 3
    assert 'queue' not in sig.options['link'][0].options


# -- shared stays shared ----------------------------------------------------------

@pytest.mark.parametrize('make_copy', COPIES)
def test_a_signature_linked_twice_is_one_object_in_the_copy(add, make_copy):
    sig = add.s(1, 1)
    handler = add.si(0, 0)
    sig.link(handler)
    sig.link_error(handler)
    duplicate = make_copy(sig)
    assert duplicate.options['link'][0] is duplicate.options['link_error'][0]
    assert duplicate.options['link'][0] is not handler


@pytest.mark.parametrize('make_copy', COPIES)
def test_an_errback_on_chord_and_body_is_one_object_in_the_copy(add, tsum, make_copy):
    errback = add.si(0, 0)
    body = tsum.s().on_error(errback)
    workflow = chord([add.s(1, 1)], body, link_error=[errback])
    duplicate = make_copy(workflow)
    assert duplicate.options['link_error'][0] is duplicate.body.options['link_error'][0]
    assert duplicate.body.options['link_error'][0] is not errback


def test_deepcopy_keeps_app_and_task(add, app):
    sig = add.s(1, 1)
    duplicate = copy.deepcopy(sig)
    assert duplicate.app is app and duplicate.type is sig.type
    assert duplicate.kwargs is not sig.kwargs


def test_deepcopy_of_a_structure_holding_a_signature_twice(add):
    sig = add.s(1, 1)
    duplicate = copy.deepcopy({'a': sig, 'b': [sig]})
    assert duplicate['a'] is duplicate['b'][0]
    assert isinstance(duplicate['a'], Signature) and duplicate['a'] is not sig


# -- append_stamps merges ---------------------------------------------------------

def test_append_stamps_merges_dict_values_key_by_key(add):
    sig = add.s(1, 1)
    sig.stamp(info={'run': 'r1', 'owner': 'ops'})
    sig.stamp(info={'run': 'r2', 'step': 3}, append_stamps=True)
    assert sig.options['info'] == {'run': ['r2', 'r1'], 'owner': 'ops', 'step': 3}
    assert sig.options['stamped_headers'] == ['info']


def test_append_stamps_merges_nested_dicts_and_extends_lists(add):
    sig = add.s(1, 1)
    sig.stamp(meta={'tags': ['a'], 'ids': {'x': 1}}, labels=['l1'])
    sig.stamp(meta={'tags': ['b', 'c'], 'ids': {'y': 2}}, labels=['l2'], append_stamps=True)
    assert sig.options['meta'] == {'tags': ['b', 'c', 'a'], 'ids': {'x': 1, 'y': 2}}
    assert sig.options['labels'] == ['l2', 'l1']


def test_append_stamps_does_not_change_stamps_it_merged(add):
    first = {'run': 'r1'}
    sig = add.s(1, 1)
    sig.stamp(info=first)
    twin = sig.clone()
    sig.stamp(info={'run': 'r2'}, append_stamps=True)
    assert first == {'run': 'r1'}
    assert twin.options['info'] == {'run': 'r1'}


def test_without_append_the_new_dict_replaces_the_old(add):
    sig = add.s(1, 1)
    sig.stamp(info={'run': 'r1', 'owner': 'ops'})
    sig.stamp(info={'run': 'r2'})
    assert sig.options['info'] == {'run': 'r2'}


def test_append_stamps_merges_visitor_dicts_on_every_task(add, tsum):
    class RunVisitor(StampingVisitor):
        def on_signature(self, sig, **headers):
            return {'info': {'visitor': 'v'}}

    workflow = chain(add.s(1, 1), chord([add.s(1), add.s(2)], tsum.s()))
    workflow.stamp(info={'run': 'r1'})
    workflow.stamp(visitor=RunVisitor(), append_stamps=True)
    first, inner = workflow.tasks
    header = inner.tasks.tasks if isinstance(inner.tasks, group) else inner.tasks
    for task in (first, *header, inner.body):
        assert task.options['info'] == {'run': 'r1', 'visitor': 'v'}, task

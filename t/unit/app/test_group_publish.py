"""Cheaper group publishing keeps the copies independent of the originals."""
from __future__ import annotations

import pytest
from kombu import Queue

from celery import Celery, group
from celery.app.queues import Queues


@pytest.fixture
def app():
    app = Celery('group-publish', set_as_current=False, broker='memory://')
    yield app
    app.close()


@pytest.fixture
def add(app):
    @app.task(name='t.add', shared=False)
    def add(x, y):
        return x + y
    return add


def test_clone_of_scalar_options_is_a_new_dict(add):
    sig = add.s(1, 2).set(queue='q', countdown=3, priority=None)
    clone = sig.clone()
    assert clone.options == sig.options
    clone.options['queue'] = 'other'
    assert sig.options['queue'] == 'q'


@pytest.mark.parametrize('value', [[1, 2], {'a': [1]}, ('t', [1])])
def test_clone_of_mutable_options_is_deep(add, value):
    sig = add.s(1, 2).set(custom=value)
    clone = sig.clone()
    assert clone.options['custom'] == value
    assert clone.options['custom'] is not value


def test_clone_of_linked_signature_is_deep(add):
    callback = add.s(3, 4)
    sig = add.s(1, 2)
    sig.link(callback)
    clone = sig.clone()
    clone.options['link'][0].set(queue='elsewhere')
    assert 'queue' not in callback.options


def test_group_apply_leaves_members_unfrozen(app, add):
    app.conf.task_always_eager = True
    members = [add.s(i, i) for i in range(3)]
    first = group(members).apply_async()
    second = group(members).apply_async()
    assert all('task_id' not in member.options for member in members)
    assert {r.id for r in first.results}.isdisjoint(r.id for r in second.results)


def test_queue_alias_lookup_added_later():
    queues = Queues([Queue('plain')])
    assert queues['plain'].name == 'plain'
    queues.add(Queue('real', alias='nick'))
    assert queues['nick'].name == 'real'
    with pytest.raises(KeyError):
        Queues([Queue('plain')], create_missing=False)['missing']

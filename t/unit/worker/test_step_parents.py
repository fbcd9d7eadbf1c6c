"""A bootstep given the other blueprint's parent fails clearly, before touching it."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from celery.exceptions import ImproperlyConfigured
from celery.worker import components
from celery.worker._parents import consumer_of, worker_of
from celery.worker.consumer.consumer import Consumer
from celery.worker.worker import WorkController


def test_a_worker_step_refuses_a_consumer():
    consumer = Consumer.__new__(Consumer)
    step = components.Timer.__new__(components.Timer)
    with pytest.raises(ImproperlyConfigured, match='worker step'):
        step.create(consumer)


def test_a_consumer_step_refuses_the_worker():
    with pytest.raises(ImproperlyConfigured, match='consumer step'):
        consumer_of(object(), WorkController.__new__(WorkController))


def test_other_parents_pass_through():
    # Test doubles stand in for either parent.
    fake = SimpleNamespace()
    assert worker_of(object(), fake) is fake
    assert consumer_of(object(), fake) is fake


def test_app_steps_are_step_classes_or_names():
    from celery import Celery, bootsteps
    from celery.worker._parents import app_steps

    class Extra(bootsteps.StartStopStep):
        pass

    app = Celery('steps', set_as_current=False)
    app.steps['worker'].update({Extra, 'proj.steps:Other'})
    assert set(app_steps(app, 'worker')) == {Extra, 'proj.steps:Other'}
    app.steps['consumer'].add(object())
    with pytest.raises(ImproperlyConfigured, match='not a bootstep'):
        app_steps(app, 'consumer')

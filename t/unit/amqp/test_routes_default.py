"""Routing without task_routes: the common case takes a short path with the same answers."""
from __future__ import annotations

from celery import Celery


def make_app() -> Celery:
    app = Celery('routes-default', set_as_current=False)
    app.conf.task_default_queue = 'work'
    return app


def test_no_routes_and_no_queue_option_gives_the_default_queue_object() -> None:
    app = make_app()
    route = app.amqp.router.route({'priority': 3, 'countdown': None}, 'x.y')
    assert route == {'priority': 3, 'queue': app.amqp.queues['work']}


def test_the_callers_options_are_not_changed() -> None:
    app = make_app()
    options = {'priority': 3}
    app.amqp.router.route(options, 'x.y')
    assert options == {'priority': 3}


def test_a_task_class_queue_attribute_still_wins_over_the_default() -> None:
    app = make_app()

    @app.task(name='x.routed', queue='elsewhere', shared=False)
    def routed() -> None: ...

    route = app.amqp.router.route({}, 'x.routed', task_type=routed)
    assert route['queue'].name == 'elsewhere'


def test_task_class_routing_attributes_are_kept_and_options_override_them() -> None:
    app = make_app()

    @app.task(name='x.prio', priority=5, routing_key='rk', shared=False)
    def prio() -> None: ...

    route = app.amqp.router.route({'priority': 7}, 'x.prio', task_type=prio)
    assert route == {'priority': 7, 'routing_key': 'rk', 'queue': app.amqp.queues['work']}

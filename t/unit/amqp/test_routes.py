"""Routing: MapRoute, router functions, precedence and QueueNotFound."""
from __future__ import annotations

import re

import pytest
from kombu import Exchange, Queue

from celery.app import routes
from celery.app.queues import Queues
from celery.exceptions import QueueNotFound


def make_router(route_setting=None, queues=None, create_missing=True, default='celery'):
    qs = Queues(queues or [Queue(default, Exchange(default), default)],
                create_missing=create_missing)

    class Conf:
        task_default_queue = default

    class App:
        conf = Conf()

    return routes.Router(routes.prepare(route_setting), qs, create_missing, app=App())


class TestMapRoute:

    def test_exact_name_string_value_is_queue(self):
        route = routes.MapRoute({'proj.add': 'math'})
        assert route('proj.add') == {'queue': 'math'}
        assert route('proj.mul') is None

    def test_dict_value_is_copied(self):
        spec = {'queue': 'video', 'routing_key': 'media.video'}
        route = routes.MapRoute({'video.encode': spec})
        found = route('video.encode')
        found['queue'] = 'changed'
        assert route('video.encode') == spec

    def test_glob_pattern(self):
        route = routes.MapRoute({'feed.tasks.*': {'queue': 'feeds'}})
        assert route('feed.tasks.import_feed') == {'queue': 'feeds'}
        assert route('web.tasks.x') is None

    def test_regex_key(self):
        route = routes.MapRoute({re.compile(r'(video|image)\.tasks\..*'): 'media'})
        assert route('image.tasks.resize') == {'queue': 'media'}
        assert route('audio.tasks.x') is None

    def test_exact_name_beats_pattern(self):
        route = routes.MapRoute({'a.*': 'glob', 'a.b': 'exact'})
        assert route('a.b') == {'queue': 'exact'}

    def test_items_form_keeps_order(self):
        route = routes.MapRoute([('a.*', 'first'), (re.compile(r'a\..*'), 'second')])
        assert route('a.x') == {'queue': 'first'}


class TestPrepare:

    def test_none_is_empty(self):
        assert routes.prepare(None) == []

    def test_dict_becomes_map_route(self):
        prepared = routes.prepare({'a': 'b'})
        assert len(prepared) == 1 and isinstance(prepared[0], routes.MapRoute)

    def test_tuple_of_list_of_pairs(self):
        prepared = routes.prepare(([('a.*', 'x'), ('b.*', 'y')],))
        assert prepared[0]('b.1') == {'queue': 'y'}

    def test_callable_kept(self):
        def router(name, args, kwargs, options, task=None, **kw):
            return None
        assert routes.prepare(router) == [router]

    def test_string_imported_lazily(self):
        prepared = routes.prepare('t.unit.amqp.test_routes.path_router')
        router = make_router()
        assert router.query_router(prepared[0], 'x', (), {}, {}, None) == 'from-path'


def path_router(name, args, kwargs, options, task=None, **kw):
    return 'from-path'


class OldStyleRouter:
    def route_for_task(self, task, args=None, kwargs=None):
        return {'queue': 'old'} if task == 'old.task' else None


class TestRouter:

    def test_default_queue_when_nothing_matches(self):
        options = make_router().route({}, 'proj.add')
        assert options['queue'].name == 'celery'

    def test_explicit_queue_name_is_expanded(self):
        options = make_router().route({'queue': 'other'}, 'proj.add')
        assert isinstance(options['queue'], Queue)
        assert options['queue'].name == 'other'
        assert options['queue'].exchange.name == 'other'

    def test_explicit_options_beat_task_routes(self):
        router = make_router({'proj.add': {'queue': 'routed', 'routing_key': 'rk'}})
        options = router.route({'queue': 'explicit'}, 'proj.add')
        assert options['queue'].name == 'explicit'
        assert options['routing_key'] == 'rk'

    def test_none_option_does_not_override_route(self):
        router = make_router({'proj.add': {'queue': 'routed', 'priority': 3}})
        options = router.route({'priority': None}, 'proj.add')
        assert options['priority'] == 3
        assert options['queue'].name == 'routed'

    def test_task_routes_beat_task_attributes(self):
        class Task:
            queue = 'from-task'
            priority = 7
        router = make_router({'proj.add': 'routed'})
        options = router.route({}, 'proj.add', task_type=Task)
        assert options['queue'].name == 'routed'
        assert options['priority'] == 7

    def test_task_attributes_beat_default(self):
        class Task:
            queue = 'from-task'
            routing_key = None
        options = make_router().route({}, 'proj.add', task_type=Task)
        assert options['queue'].name == 'from-task'
        assert 'routing_key' not in options

    def test_router_function_new_signature(self):
        seen = {}

        def route_task(name, args, kwargs, options, task=None, **kw):
            seen.update(name=name, args=args, kwargs=kwargs, task=task)
            return {'queue': 'fn', 'exchange': 'fnx'}
        options = make_router(route_task).route({}, 'proj.add', (1,), {'a': 2}, 'T')
        assert options['queue'].name == 'fn'
        assert options['exchange'] == 'fnx'
        assert seen == {'name': 'proj.add', 'args': (1,), 'kwargs': {'a': 2}, 'task': 'T'}

    def test_router_function_returning_queue_name(self):
        options = make_router(lambda *a, **kw: 'named').route({}, 'x')
        assert options['queue'].name == 'named'

    def test_first_router_that_answers_wins(self):
        setting = (lambda *a, **kw: None, {'x': 'second'}, lambda *a, **kw: 'third')
        options = make_router(setting).route({}, 'x')
        assert options['queue'].name == 'second'

    def test_pre_4_router_class_by_path(self):
        router = make_router('t.unit.amqp.test_routes.OldStyleRouter')
        assert router.route({}, 'old.task')['queue'].name == 'old'
        assert router.route({}, 'new.task')['queue'].name == 'celery'

    def test_route_to_kombu_queue_object(self):
        queue = Queue('obj', Exchange('objx', 'topic'), 'obj.#')
        options = make_router({'x': {'queue': queue}}).route({}, 'x')
        assert options['queue'] is queue

    def test_missing_queue_raises_when_creation_disabled(self):
        router = make_router({'x': 'nowhere'}, create_missing=False)
        with pytest.raises(QueueNotFound) as excinfo:
            router.route({}, 'x')
        assert 'nowhere' in str(excinfo.value)
        assert 'task_create_missing_queues' in str(excinfo.value)

    def test_missing_explicit_queue_raises_when_creation_disabled(self):
        with pytest.raises(QueueNotFound):
            make_router(create_missing=False).route({'queue': 'nope'}, 'x')

    def test_route_options_kept(self):
        router = make_router({'x': {'queue': 'q', 'serializer': 'pickle'}})
        options = router.route({}, 'x')
        assert options['serializer'] == 'pickle'

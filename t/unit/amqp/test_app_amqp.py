"""The app's AMQP object: queues and router built from the configuration."""
from __future__ import annotations

import pytest
from kombu import Exchange, Queue

from celery.exceptions import QueueNotFound


class TestAMQPFromConf:

    def test_default_queue(self, app):
        queue = app.amqp.default_queue
        assert (queue.name, queue.exchange.name, queue.exchange.type, queue.routing_key) == \
            ('celery', 'celery', 'direct', 'celery')
        assert queue.queue_arguments is None

    def test_renamed_default_queue_and_exchange(self, app):
        app.conf.task_default_queue = 'default'
        app.conf.task_default_exchange = 'tasks'
        app.conf.task_default_exchange_type = 'topic'
        app.conf.task_default_routing_key = 'task.default'
        queue = app.amqp.default_queue
        assert queue.name == 'default'
        assert (queue.exchange.name, queue.exchange.type) == ('tasks', 'topic')
        assert queue.routing_key == 'task.default'

    def test_quorum_default_queue(self, app):
        app.conf.task_default_queue_type = 'quorum'
        assert app.amqp.default_queue.queue_arguments == {'x-queue-type': 'quorum'}

    def test_task_queues_get_default_exchange(self, app):
        app.conf.task_default_exchange = 'tasks'
        app.conf.task_default_exchange_type = 'topic'
        app.conf.task_queues = [Queue('feed_tasks', routing_key='feed.#')]
        queue = app.amqp.queues['feed_tasks']
        assert (queue.exchange.name, queue.exchange.type) == ('tasks', 'topic')

    def test_max_priority_setting(self, app):
        app.conf.task_queue_max_priority = 10
        assert app.amqp.default_queue.queue_arguments == {'x-max-priority': 10}

    def test_router_uses_task_routes(self, app):
        app.conf.task_routes = {'proj.*': 'proj-queue'}
        options = app.amqp.router.route({}, 'proj.add')
        assert options['queue'].name == 'proj-queue'

    def test_flush_routes_rereads_setting(self, app):
        app.conf.task_routes = {'proj.*': 'first'}
        assert app.amqp.router.route({}, 'proj.add')['queue'].name == 'first'
        app.conf.task_routes = {'proj.*': 'second'}
        app.amqp.flush_routes()
        assert app.amqp.router.route({}, 'proj.add')['queue'].name == 'second'

    def test_queue_not_found_when_creation_disabled(self, app):
        app.conf.task_create_missing_queues = False
        with pytest.raises(QueueNotFound):
            app.amqp.router.route({'queue': 'unknown'}, 'proj.add')

    def test_send_task_queue_not_found(self, app):
        app.conf.task_create_missing_queues = False
        with pytest.raises(QueueNotFound):
            app.send_task('proj.add', queue='unknown', ignore_result=True)

    def test_select_queues(self, app):
        app.conf.task_queues = [Queue('a'), Queue('b')]
        app.amqp.queues.select(['a'])
        assert list(app.amqp.queues.consume_from) == ['a']

    def test_task_consumer_uses_selected_queues_and_accept(self, app):
        app.conf.accept_content = ['json', 'msgpack']
        app.conf.task_queues = [Queue('a', Exchange('a'), 'a'), Queue('b', Exchange('b'), 'b')]
        app.amqp.queues.select(['b'])
        with app.connection_for_read() as conn:
            consumer = app.amqp.TaskConsumer(conn.default_channel)
            assert [q.name for q in consumer.queues] == ['b']
            assert consumer.accept == {'application/json', 'application/x-msgpack'}

    def test_producer_pool_limit_follows_broker_pool_limit(self, app):
        app.conf.broker_pool_limit = 3
        assert app.amqp.producer_pool.limit == 3
        assert app.amqp.publisher_pool is app.amqp.producer_pool

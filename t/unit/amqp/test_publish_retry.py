"""Publish retries: the retry policy of task messages and of callbacks sent from a worker."""
from __future__ import annotations

import pytest
from kombu.exceptions import EncodeError

from celery import Celery, signals
from celery.app import task_sender
from celery.app.amqp import retry_policy_of
from celery.app.publish import publish
from celery.app.publish_retry import WORKER_PUBLISH_MAX_RETRIES
from celery.app.trace import build_tracer
from t.unit.amqp.test_send import RecordingProducer


@pytest.fixture
def app():
    application = Celery('retrying', set_as_current=False, broker='memory://',
                         backend='cache+memory://')
    yield application
    application.close()


@pytest.fixture
def publishes(monkeypatch):
    """``(task name, retry, retry policy)`` of each task message published."""
    calls = []

    def record(producer, body, retry, publish_args):
        calls.append((publish_args['headers']['task'], retry, publish_args['retry_policy']))
    monkeypatch.setattr(task_sender, 'publish', record)
    return calls


@pytest.fixture
def signalled():
    names = []

    def record(sender=None, **kwargs):
        names.append(sender)
    signals.before_task_publish.connect(record, weak=False)
    signals.after_task_publish.connect(record, weak=False)
    yield names
    signals.before_task_publish.disconnect(record)
    signals.after_task_publish.disconnect(record)


def test_retry_errors_list_becomes_a_tuple():
    policy = retry_policy_of({'max_retries': 2, 'retry_errors': [OSError]}, {'max_retries': 5})
    assert policy == {'max_retries': 5, 'retry_errors': (OSError,)}


def test_configured_retry_errors_list_reaches_kombu_as_tuple(app, publishes):
    app.conf.task_publish_retry_policy = {'max_retries': 2, 'retry_errors': [OSError]}
    app.send_task('remote.task', queue='q')
    (_, retry, policy), = publishes
    assert retry is True and policy['retry_errors'] == (OSError,)


def test_encode_errors_are_never_retried():
    producer = RecordingProducer(failures=[EncodeError('bad'), ValueError('bad')])
    with pytest.raises(EncodeError):
        publish(producer, 'body', True, {'retry_policy': {}})
    with pytest.raises(ValueError):
        publish(producer, 'body', True, {'retry_policy': {}})
    assert producer.published == []


class test_callbacks_from_a_worker:

    def run(self, app, *callbacks, chain=None):
        @app.task(name='parent', shared=False)
        def parent():
            return 1

        @app.task(name='child', shared=False)
        def child(value):
            return value
        links = [sig(child) if callable(sig) else sig for sig in callbacks]
        tracer = build_tracer(parent.name, parent, app=app)
        request = {'id': 'p-id', 'task': 'parent', 'callbacks': links,
                   'chain': [step(child) for step in chain or ()]}
        tracer('p-id', (), {}, request)

    def test_follow_the_configured_policy(self, app, publishes):
        app.conf.task_publish_retry_policy = {'max_retries': 7}
        self.run(app, lambda child: child.s())
        assert publishes == [('child', True, {'max_retries': 7})]

    def test_unbounded_max_retries_is_capped(self, app, publishes):
        app.conf.task_publish_retry_policy = {'max_retries': None, 'interval_start': 0}
        self.run(app, lambda child: child.s(), chain=[lambda child: child.s()])
        assert [policy['max_retries'] for _, _, policy in publishes] == [
            WORKER_PUBLISH_MAX_RETRIES] * 2
        assert all(policy['interval_start'] == 0 for _, _, policy in publishes)

    def test_no_retry_when_disabled(self, app, publishes):
        app.conf.task_publish_retry = False
        self.run(app, lambda child: child.s())
        assert [retry for _, retry, _ in publishes] == [False]

    def test_no_retry_when_the_signature_says_so(self, app, publishes):
        self.run(app, lambda child: child.s().set(retry=False))
        assert [retry for _, retry, _ in publishes] == [False]

    def test_publish_signals_fire_once_per_callback(self, app, publishes, signalled):
        self.run(app, lambda child: child.s())
        assert signalled == ['child', 'child']


class RecordingDispatcher:
    def __init__(self):
        self.published = []

    def publish(self, type_, fields, producer, **kwargs):
        self.published.append((type_, kwargs))


def test_task_sent_event_has_the_message_retry_limits(app):
    app.conf.task_publish_retry_policy = {'max_retries': 2, 'interval_start': 0}
    message = app.amqp.create_task_message('id-1', 'proj.add', (1,), create_sent_event=True)
    dispatcher = RecordingDispatcher()
    app.amqp.send_task_message(RecordingProducer(), 'proj.add', message, queue='q',
                               event_dispatcher=dispatcher, retry_policy={'max_retries': 5})
    (type_, options), = dispatcher.published
    assert type_ == 'task-sent'
    assert options == {'retry': True,
                       'retry_policy': {'max_retries': 5, 'interval_start': 0}}


class test_errbacks_from_a_worker:

    def run(self, app):
        @app.task(name='failing', shared=False)
        def failing():
            raise KeyError('boom')

        @app.task(name='on_error', shared=False)
        def on_error(task_id):
            return task_id
        tracer = build_tracer(failing.name, failing, app=app)
        request = {'id': 'f-id', 'task': 'failing', 'errbacks': [on_error.s()]}
        tracer('f-id', (), {}, request)

    def test_unbounded_max_retries_is_capped(self, app, publishes):
        app.conf.task_publish_retry_policy = {'max_retries': None, 'interval_start': 0}
        self.run(app)
        assert [(name, policy['max_retries']) for name, _, policy in publishes] == [
            ('on_error', WORKER_PUBLISH_MAX_RETRIES)]

    def test_follow_the_configured_policy(self, app, publishes):
        app.conf.task_publish_retry_policy = {'max_retries': 7}
        self.run(app)
        assert publishes == [('on_error', True, {'max_retries': 7})]

    def test_no_retry_when_disabled(self, app, publishes):
        app.conf.task_publish_retry = False
        self.run(app)
        assert [retry for _, retry, _ in publishes] == [False]

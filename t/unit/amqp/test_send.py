"""Publishing task messages: destination, delivery mode, retry, signals, events."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from decimal import Decimal
from uuid import UUID

import pytest
from kombu import Exchange, Queue
from kombu.common import Broadcast

from celery import signals

#: Let the tests decode every serializer the producer may use.
ACCEPT_ALL = {'application/json', 'application/x-python-serialize',
              'application/x-yaml', 'application/x-msgpack'}


class RecordingConnection:
    recoverable_connection_errors = (ConnectionError,)
    recoverable_channel_errors = ()

    def __init__(self):
        self.declared_entities = set()


class RecordingProducer:
    """Stands in for a kombu Producer and records each publish call."""

    def __init__(self, failures=()):
        self.connection = RecordingConnection()
        self.channel = SimpleNamespace()
        self.published = []
        self.failures = list(failures)

    def publish(self, body, **kwargs):
        if self.failures:
            raise self.failures.pop(0)
        self.published.append((body, kwargs))
        for entity in kwargs.get('declare') or ():
            self.connection.declared_entities.add(hash(entity))


def send(app, queue=None, producer=None, message=None, **options):
    producer = producer or RecordingProducer()
    message = message or app.amqp.create_task_message('id-1', 'proj.add', (1,), {})
    app.amqp.send_task_message(producer, 'proj.add', message, queue=queue, **options)
    return producer.published[-1][1]


class TestDestination:

    def test_direct_queue_uses_default_exchange(self, app):
        kwargs = send(app, queue=app.amqp.queues['work'])
        assert kwargs['exchange'] == '' and kwargs['routing_key'] == 'work'
        assert [q.name for q in kwargs['declare']] == ['work']

    def test_queue_by_name(self, app):
        kwargs = send(app, queue='named')
        assert (kwargs['exchange'], kwargs['routing_key']) == ('', 'named')

    def test_default_queue_when_no_destination(self, app):
        kwargs = send(app)
        assert (kwargs['exchange'], kwargs['routing_key']) == ('', 'celery')

    def test_topic_queue_publishes_to_its_exchange(self, app):
        queue = Queue('feeds', Exchange('feedx', 'topic'), 'feed.#')
        kwargs = send(app, queue=queue, routing_key='feed.import')
        assert (kwargs['exchange'], kwargs['routing_key']) == ('feedx', 'feed.import')

    def test_topic_queue_default_routing_key(self, app):
        queue = Queue('feeds', Exchange('feedx', 'topic'), 'feed.all')
        kwargs = send(app, queue=queue)
        assert (kwargs['exchange'], kwargs['routing_key']) == ('feedx', 'feed.all')

    def test_explicit_exchange_and_routing_key_on_direct(self, app):
        kwargs = send(app, queue='q', exchange='C.dq2', routing_key='w1@host')
        assert (kwargs['exchange'], kwargs['routing_key']) == ('C.dq2', 'w1@host')

    def test_broadcast_not_declared_and_fanout(self, app):
        kwargs = send(app, queue=Broadcast('bcast'))
        assert kwargs['exchange'] == 'bcast'
        assert kwargs['declare'] is None

    def test_declares_only_until_declared(self, app):
        producer = RecordingProducer()
        queue = app.amqp.queues['once']
        assert send(app, queue=queue, producer=producer)['declare'] == [queue]
        assert send(app, queue=queue, producer=producer)['declare'] is None

    def test_explicit_declare_kept(self, app):
        assert send(app, queue='q', declare=['x'])['declare'] == ['x']


class TestProperties:

    def test_defaults(self, app):
        kwargs = send(app, queue='q')
        assert kwargs['delivery_mode'] == 2
        assert kwargs['serializer'] == 'json'
        assert kwargs['compression'] is None
        assert kwargs['priority'] is None  # no priority unless one was given
        assert kwargs['correlation_id'] == 'id-1'
        assert kwargs['headers']['task'] == 'proj.add'
        assert kwargs['retry'] is False  # the first attempt; kombu retries on failure
        assert kwargs['retry_policy'] == app.conf.task_publish_retry_policy

    def test_transient_exchange_delivery_mode(self, app):
        queue = Queue('t', Exchange('t', delivery_mode=1), 't')
        assert send(app, queue=queue)['delivery_mode'] == 1

    def test_default_delivery_mode_setting_by_name(self, app):
        app.conf.task_default_delivery_mode = 'transient'
        assert send(app, queue='q')['delivery_mode'] == 1

    def test_per_call_options(self, app):
        kwargs = send(app, queue='q', priority=5, serializer='pickle', compression='zlib',
                      delivery_mode='transient', headers={'custom': 'h'}, app_id='me')
        assert kwargs['priority'] == 5
        assert kwargs['serializer'] == 'pickle'
        assert kwargs['compression'] == 'zlib'
        assert kwargs['delivery_mode'] == 1
        assert kwargs['headers']['custom'] == 'h'
        assert kwargs['app_id'] == 'me'

    def test_default_priority_setting(self, app):
        app.conf.task_default_priority = 4
        assert send(app, queue='q')['priority'] == 4

    def test_settings_serializer_and_compression(self, app):
        app.conf.task_serializer = 'pickle'
        app.conf.task_compression = 'bzip2'
        kwargs = send(app, queue='q')
        assert (kwargs['serializer'], kwargs['compression']) == ('pickle', 'bzip2')

    def test_retry_policy_merged_with_default(self, app):
        kwargs = send(app, queue='q', retry_policy={'max_retries': 9})
        assert kwargs['retry_policy']['max_retries'] == 9
        assert kwargs['retry_policy']['interval_max'] == \
            app.conf.task_publish_retry_policy['interval_max']

    def test_publish_retry_setting(self, app):
        app.conf.task_publish_retry = False
        producer = RecordingProducer(failures=[ConnectionError('lost')])
        with pytest.raises(ConnectionError):
            send(app, queue='q', producer=producer)

    def test_first_attempt_is_plain_then_kombu_retries(self, app):
        producer = RecordingProducer(failures=[ConnectionError('lost')])
        kwargs = send(app, queue='q', producer=producer)
        assert kwargs['retry'] is True
        assert kwargs['retry_policy'] == app.conf.task_publish_retry_policy

    def test_no_retry_on_connection_error_when_disabled(self, app):
        producer = RecordingProducer(failures=[ConnectionError('lost')])
        with pytest.raises(ConnectionError):
            send(app, queue='q', producer=producer, retry=False)

    def test_other_errors_are_not_retried(self, app):
        producer = RecordingProducer(failures=[ValueError('bad body')])
        with pytest.raises(ValueError):
            send(app, queue='q', producer=producer)
        assert producer.published == []


class TestSignals:

    def test_before_publish_can_mutate_headers(self, app):
        calls = []

        def before(sender=None, body=None, exchange=None, routing_key=None, headers=None,
                   properties=None, declare=None, retry_policy=None, **kwargs):
            calls.append((sender, exchange, routing_key, body))
            headers['added'] = 'yes'
            properties['app_id'] = 'signal'
        signals.before_task_publish.connect(before, weak=False)
        try:
            kwargs = send(app, queue='q')
        finally:
            signals.before_task_publish.disconnect(before)
        assert calls[0][:3] == ('proj.add', '', 'q')
        assert calls[0][3][0] == (1,)
        assert kwargs['headers']['added'] == 'yes'
        assert kwargs['app_id'] == 'signal'

    def test_after_publish(self, app):
        calls = []

        def after(sender=None, body=None, exchange=None, routing_key=None, headers=None,
                  **kwargs):
            calls.append((sender, routing_key, headers['id']))
        signals.after_task_publish.connect(after, weak=False)
        try:
            send(app, queue='q')
        finally:
            signals.after_task_publish.disconnect(after)
        assert calls == [('proj.add', 'q', 'id-1')]


class TestSentEvent:

    def test_task_sent_event_published(self, app):
        published = []

        class Dispatcher:
            def publish(self, type_, fields, producer, retry=False, retry_policy=None):
                published.append((type_, dict(fields)))
        message = app.amqp.create_task_message('id-1', 'proj.add', (1,), {},
                                               create_sent_event=True)
        send(app, queue='q', message=message, event_dispatcher=Dispatcher())
        type_, fields = published[0]
        assert type_ == 'task-sent'
        assert fields['uuid'] == 'id-1' and fields['name'] == 'proj.add'
        assert (fields['queue'], fields['exchange'], fields['routing_key']) == ('q', '', 'q')


class TestMemoryRoundTrip:
    """Publish through kombu's in-memory transport and read the raw message."""

    def receive(self, app, queue_name, **options):
        message = app.amqp.create_task_message('id-rt', 'proj.add', (1, 'a'), {'k': 2})
        queue = app.amqp.queues[queue_name]
        with app.producer_or_acquire() as producer:
            app.amqp.send_task_message(producer, 'proj.add', message, queue=queue, **options)
        with app.connection_for_read() as conn:
            raw = conn.SimpleQueue(queue, accept=ACCEPT_ALL).get(timeout=2)
            raw.ack()
            return raw

    @pytest.mark.parametrize('serializer,content_type', [
        ('json', 'application/json'),
        ('pickle', 'application/x-python-serialize'),
        ('yaml', 'application/x-yaml'),
        ('msgpack', 'application/x-msgpack'),
    ])
    def test_serializers(self, app, unique, serializer, content_type):
        raw = self.receive(app, f'rt-{unique}', serializer=serializer)
        assert raw.content_type == content_type
        args, kwargs, embed = raw.decode()
        assert list(args) == [1, 'a'] and kwargs == {'k': 2}
        assert embed == {'callbacks': None, 'errbacks': None, 'chain': None, 'chord': None}
        assert raw.headers['id'] == 'id-rt'

    @pytest.mark.parametrize('compression,mime', [
        ('zlib', 'application/x-gzip'), ('bzip2', 'application/x-bz2'),
    ])
    def test_compression(self, app, unique, compression, mime):
        raw = self.receive(app, f'rt-{unique}', compression=compression)
        assert raw.headers['compression'] == mime
        assert raw.decode()[0] == [1, 'a']

    def test_json_round_trips_rich_types(self, app, unique):
        when = datetime(2024, 1, 2, 3, 4, 5)
        ident = UUID('12345678-1234-5678-1234-567812345678')
        message = app.amqp.create_task_message(
            'id', 'x', (when, Decimal('1.5'), ident, b'raw'), {})
        queue = app.amqp.queues[f'rich-{unique}']
        with app.producer_or_acquire() as producer:
            app.amqp.send_task_message(producer, 'x', message, queue=queue)
        with app.connection_for_read() as conn:
            raw = conn.SimpleQueue(queue, accept=ACCEPT_ALL).get(timeout=2)
        args = raw.decode()[0]
        assert args == [when, Decimal('1.5'), ident, b'raw']


def test_auth_serializer_without_setup_security_is_a_clear_error():
    from celery import Celery
    from celery.exceptions import ImproperlyConfigured
    app = Celery('t', broker='memory://', set_as_current=False,
                 task_serializer='auth', accept_content=['json'])

    @app.task
    def add(x, y):
        return x + y
    try:
        import pytest
        with pytest.raises(ImproperlyConfigured, match='setup_security'):
            add.delay(1, 2)
    finally:
        app.close()


def test_accept_content_naming_an_unknown_serializer_is_a_clear_error():
    import pytest

    from celery.exceptions import ImproperlyConfigured
    from celery.utils.serialization import prepare_accept_content
    assert prepare_accept_content(['json']) == {'application/json'}
    with pytest.raises(ImproperlyConfigured, match="'auth'.*setup_security"):
        prepare_accept_content(['json', 'auth'])

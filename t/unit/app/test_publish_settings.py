"""The per-app publish settings snapshot follows every configuration change."""
from __future__ import annotations

from unittest.mock import patch

import pytest

from celery import Celery
from celery.app.publish_settings import publish_settings


@pytest.fixture
def app():
    app = Celery('publish-settings', set_as_current=False, broker='memory://')
    yield app
    app.close()


def test_settings_version_counts_every_write(app):
    conf = app.conf
    conf.finalize()
    settings = app._conf
    writes = [
        lambda: setattr(conf, 'task_default_queue', 'a'),
        lambda: conf.__setitem__('task_default_queue', 'b'),
        lambda: conf.update(task_always_eager=False),
        lambda: conf.setdefault('never_set_before', 1),
        lambda: conf.__delitem__('task_default_queue'),
        lambda: conf.pop('never_set_before'),
        lambda: settings.add_defaults({'task_send_sent_event': False}),
        lambda: conf.clear(),
    ]
    for write in writes:
        before = settings.version
        write()
        assert settings.version > before


def test_snapshot_is_reused_until_the_conf_changes(app):
    first = publish_settings(app)
    assert publish_settings(app) is first
    app.conf.task_default_queue = 'elsewhere'
    second = publish_settings(app)
    assert second is not first
    assert second.default_queue == 'elsewhere'


@pytest.mark.parametrize(('setting', 'field'), [
    ('task_always_eager', 'always_eager'),
    ('task_send_sent_event', 'send_sent_event'),
    ('task_inherit_parent_priority', 'inherit_parent_priority'),
])
def test_written_after_first_read(app, setting, field):
    assert getattr(publish_settings(app), field) is False
    app.conf[setting] = True
    assert getattr(publish_settings(app), field) is True
    app.conf.update({setting: False})
    assert getattr(publish_settings(app), field) is False


def test_add_defaults_after_first_read(app):
    publish_settings(app)
    app.add_defaults({'task_always_eager': True})
    assert publish_settings(app).always_eager is True


def test_config_from_object_after_first_read(app):
    assert publish_settings(app).default_queue == 'celery'

    class Config:
        task_default_queue = 'from-object'
    app.config_from_object(Config)
    assert publish_settings(app).default_queue == 'from-object'


def test_written_before_loading(app):
    app.conf.task_default_queue = 'early'
    assert publish_settings(app).default_queue == 'early'


def test_eager_switched_on_after_first_publish(app):
    @app.task(shared=False)
    def add(x, y):
        return x + y

    with patch.object(type(app), 'send_task') as send_task:
        add.delay(1, 2)
        assert send_task.called
    app.conf.task_always_eager = True
    assert add.delay(1, 2).get() == 3


def test_default_queue_changed_after_first_route(app):
    router = app.amqp.router
    assert router.route({}, 'proj.add')['queue'].name == 'celery'
    app.conf.task_default_queue = 'other'
    assert router.route({}, 'proj.add')['queue'].name == 'other'


def test_publish_signal_receiver_connected_after_first_publish(app):
    from celery import signals

    @app.task(shared=False)
    def add(x, y):
        return x + y

    add.delay(1, 2)  # no receivers yet: the dispatch is skipped
    seen = []

    def before(sender=None, **kwargs):
        seen.append(('before', sender))

    def after(sender=None, **kwargs):
        seen.append(('after', sender))
    signals.before_task_publish.connect(before, weak=False)
    signals.after_task_publish.connect(after, weak=False)
    try:
        add.delay(1, 2)
    finally:
        signals.before_task_publish.disconnect(before)
        signals.after_task_publish.disconnect(after)
    assert seen == [('before', add.name), ('after', add.name)]
    add.delay(1, 2)
    assert len(seen) == 2


def test_task_sent_event_switched_on_after_first_publish(app):
    @app.task(shared=False)
    def add(x, y):
        return x + y

    sent = []
    _ = app.amqp.send_task_message  # built before the patch, from the settings of now
    with patch.object(app.amqp, 'send_task_message',
                      lambda producer, name, message, **options: sent.append(message)):
        add.delay(1, 2)
        app.conf.task_send_sent_event = True
        add.delay(1, 2)
    assert [message.sent_event is not None for message in sent] == [False, True]

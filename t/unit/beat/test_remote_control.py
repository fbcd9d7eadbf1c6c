"""BeatPidbox and beat's node name, without a broker."""
from __future__ import annotations

import pickle

from celery.beat import NODENAME_DEFAULT, BeatPidbox, Service, beat_nodename
from celery.utils.nodenames import gethostname


def test_beat_nodename():
    assert NODENAME_DEFAULT == 'celerybeat'
    assert beat_nodename() == f'celerybeat@{gethostname()}'
    assert beat_nodename('scheduler@box') == 'scheduler@box'
    assert beat_nodename('box') == 'celerybeat@box'


def test_service_takes_remote_control_and_hostname(app):
    assert Service(app).remote_control is False
    app.conf.beat_enable_remote_control = True
    service = Service(app, hostname='b@h')
    assert service.remote_control is True and service.hostname == 'b@h'
    assert Service(app, remote_control=False).remote_control is False
    clone = pickle.loads(pickle.dumps(service))
    assert clone.hostname == 'b@h' and clone.remote_control is True


def test_class_defaults():
    assert (BeatPidbox.join_timeout, BeatPidbox.min_tick_age, BeatPidbox.retry_interval) == (
        3.0, 60.0, 5.0)


def test_max_tick_age_configured_or_two_loop_intervals(app):
    service = Service(app, max_interval=300, scheduler_cls='celery.beat:Scheduler')
    pidbox = BeatPidbox(service)
    assert pidbox.max_tick_age == 600.0
    service.scheduler.max_interval = 5
    assert pidbox.max_tick_age == 60.0  # never below min_tick_age
    app.conf.beat_remote_control_max_tick_age = 2.5
    assert pidbox.max_tick_age == 2.5


def test_stale_beat_does_not_answer(app):
    app.conf.beat_remote_control_max_tick_age = 10
    service = Service(app, scheduler_cls='celery.beat:Scheduler')
    pidbox = BeatPidbox(service)
    handled = []
    pidbox.node.handle_message = lambda body, message: handled.append(body['method'])
    pidbox.on_message({'method': 'ping', 'arguments': {}}, None)
    pidbox.on_message({'method': 'active', 'arguments': {}}, None)  # a worker command
    service.last_tick -= 11
    assert pidbox.is_stale() and pidbox.tick_age() > 10
    pidbox.on_message({'method': 'ping', 'arguments': {}}, None)
    assert handled == ['ping']

"""Service and EmbeddedService."""
from __future__ import annotations

import threading

from celery import signals
from celery.beat import EmbeddedService, Service

from .conftest import RecordingScheduler


def test_service_runs_until_stopped_and_syncs(app):
    app.conf.beat_schedule = {'t': {'task': 'proj.t', 'schedule': 0.05}}
    seen = []

    def on_beat_init(sender, **kwargs):
        seen.append(sender)

    signals.beat_init.connect(on_beat_init, weak=False)
    service = Service(app, max_interval=0.05, scheduler_cls=RecordingScheduler)
    thread = threading.Thread(target=service.start)
    thread.start()
    try:
        for _ in range(100):
            if len(service.scheduler.sent) >= 2:
                break
            threading.Event().wait(0.05)
    finally:
        service.stop(wait=True)
        thread.join(5)
        signals.beat_init.disconnect(on_beat_init)
    assert not thread.is_alive()
    assert len(service.scheduler.sent) >= 2
    assert service.scheduler.syncs >= 1
    assert seen == [service]


def test_scheduler_class_by_path(app):
    app.conf.beat_schedule = {}
    service = Service(app, scheduler_cls='celery.beat:Scheduler')
    assert type(service.get_scheduler(lazy=True)).__name__ == 'Scheduler'


def test_embedded_thread(app):
    app.conf.beat_schedule = {}
    embedded = EmbeddedService(app, thread=True, scheduler_cls=RecordingScheduler)
    assert embedded.service.max_interval == 1
    embedded.start()
    embedded.stop()
    embedded.join(5)
    assert not embedded.is_alive()

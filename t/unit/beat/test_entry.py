"""ScheduleEntry."""
from __future__ import annotations

import pickle
from datetime import datetime, timezone

from celery.beat import ScheduleEntry
from celery.schedules import crontab, schedule


def test_entry_defaults_and_next(app, clock):
    entry = ScheduleEntry('add', 'proj.add', schedule=schedule(10, nowfun=clock),
                          args=(1, 2), app=app)
    assert entry.last_run_at == clock.now
    assert entry.total_run_count == 0 and entry.kwargs == {} and entry.options == {}
    clock.advance(10)
    following = next(entry)
    assert following.last_run_at == clock.now
    assert following.total_run_count == 1
    assert following.args == (1, 2) and following.name == 'add'


def test_number_schedules_become_intervals(app):
    entry = ScheduleEntry('x', 'proj.x', schedule=30, relative=True, app=app)
    assert entry.schedule == schedule(30) and entry.schedule.relative


def test_entry_pickles_with_its_run_history(app):
    last = datetime(2024, 5, 1, tzinfo=timezone.utc)
    entry = ScheduleEntry('nightly', 'proj.clean', last_run_at=last, total_run_count=7,
                          schedule=crontab(0, 4), kwargs={'deep': True},
                          options={'queue': 'maint'}, app=app)
    clone = pickle.loads(pickle.dumps(entry))
    assert clone == entry
    assert clone.last_run_at == last and clone.total_run_count == 7
    assert type(clone).__module__ == 'celery.beat'


def test_repr_and_update(app):
    entry = ScheduleEntry('a', 'proj.a', schedule=5, args=(1,), kwargs={'k': 2}, app=app)
    assert repr(entry).startswith("<ScheduleEntry: a proj.a(1, k=2) <freq: 5.00 seconds>")
    other = ScheduleEntry('a', 'proj.b', schedule=6, app=app)
    entry.update(other)
    assert entry.task == 'proj.b' and entry.schedule == schedule(6)
    assert entry == other

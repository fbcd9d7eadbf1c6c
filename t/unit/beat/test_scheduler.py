"""Scheduler.tick: sending due entries, failures and schedule changes."""
from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

from celery.beat import BeatLazyFunc
from celery.schedules import schedule

from .conftest import RecordingScheduler


def make(app, clock, entries, **kwargs):
    app.conf.beat_schedule = entries
    return RecordingScheduler(app, **kwargs)


def every(seconds, clock):
    return schedule(seconds, nowfun=clock)


def test_sends_when_due_and_once_per_due_time(app, clock):
    s = make(app, clock, {'t': {'task': 'proj.t', 'schedule': every(10, clock),
                                'args': (1,), 'options': {'queue': 'q1', 'priority': 3}}})
    assert s.tick() > 0 and s.sent == []
    clock.advance(10)
    s.tick()
    assert s.sent == [('proj.t', (1,), {}, {'queue': 'q1', 'priority': 3})]
    s.tick()
    assert len(s.sent) == 1
    assert s.schedule['t'].total_run_count == 1


def test_sleep_is_capped_by_max_interval(app, clock):
    s = make(app, clock, {'t': {'task': 'proj.t', 'schedule': every(1000, clock)}},
             max_interval=5)
    assert 0 < s.tick() <= 5


def test_empty_schedule_sleeps_max_interval(app):
    app.conf.beat_schedule = {}
    s = RecordingScheduler(app, max_interval=7)
    assert s.tick() == 7


def test_all_due_entries_go_out_in_one_tick(app, clock):
    s = make(app, clock, {f'e{i}': {'task': f'proj.t{i}', 'schedule': every(5, clock)}
                          for i in range(20)})
    clock.advance(5)
    s.tick()
    assert sorted(name for name, *_ in s.sent) == sorted(f'proj.t{i}' for i in range(20))


def test_broker_outage_keeps_the_run_due_and_retries(app, clock, caplog):
    s = make(app, clock, {'t': {'task': 'proj.t', 'schedule': every(10, clock)}})
    s.tick()
    clock.advance(10)
    s.fail_with = OperationalError('connection refused')
    with caplog.at_level(logging.ERROR):
        assert s.tick() > 0
    assert s.sent == [] and 'broker unreachable' in caplog.text
    assert s.schedule['t'].total_run_count == 0  # reservation undone
    s.fail_with = None
    s._heap = None  # skip the retry back-off wait
    s.tick()
    assert len(s.sent) == 1
    s.tick()
    assert len(s.sent) == 1


def test_other_send_errors_are_logged_and_the_run_is_spent(app, clock, caplog):
    s = make(app, clock, {'t': {'task': 'proj.t', 'schedule': every(10, clock)}})
    clock.advance(10)
    s.fail_with = TypeError('cannot serialize')
    with caplog.at_level(logging.ERROR):
        s.tick()
    assert 'cannot serialize' in caplog.text
    assert s.schedule['t'].total_run_count == 1


def test_invalid_entries_are_skipped_with_a_clear_error(app, clock, caplog):
    with caplog.at_level(logging.ERROR):
        s = make(app, clock, {'bad': {'schedule': 5, 'bogus': 1},
                              'good': {'task': 'proj.ok', 'schedule': every(5, clock)}})
    assert 'bad' in caplog.text and 'invalid' in caplog.text
    assert set(s.schedule) == {'good'}


def test_a_schedule_that_raises_does_not_stop_the_others(app, clock, caplog):
    class Broken(schedule):
        def is_due(self, last_run_at):
            raise RuntimeError('boom')

    s = make(app, clock, {'broken': {'task': 'proj.b', 'schedule': Broken(1, nowfun=clock)},
                          'fine': {'task': 'proj.f', 'schedule': every(1, clock)}})
    clock.advance(1)
    with caplog.at_level(logging.ERROR):
        s.tick()
    assert [name for name, *_ in s.sent] == ['proj.f'] and 'boom' in caplog.text


def test_schedule_changes_are_picked_up(app, clock):
    s = make(app, clock, {'a': {'task': 'proj.a', 'schedule': every(10, clock)}})
    s.tick()
    s.update_from_dict({'b': {'task': 'proj.b', 'schedule': every(1, clock)}})
    clock.advance(1)
    s.tick()
    assert [name for name, *_ in s.sent] == ['proj.b']
    s.merge_inplace({'a': {'task': 'proj.a', 'schedule': every(10, clock)}})
    assert set(s.schedule) == {'a'}


def test_sync_every_tasks(app, clock):
    app.conf.beat_sync_every = 2
    s = make(app, clock, {'a': {'task': 'proj.a', 'schedule': every(1, clock)}})
    s._do_sync()
    before = s.syncs
    for _ in range(4):
        clock.advance(1)
        s.tick()
    assert s.syncs - before == 2


def test_lazy_args_are_evaluated_at_send_time(app, clock):
    counter = iter(range(10))
    s = make(app, clock, {'a': {'task': 'proj.a', 'schedule': every(1, clock),
                                'args': (BeatLazyFunc(lambda: next(counter)),),
                                'kwargs': {'n': BeatLazyFunc(lambda: 'x')}}})
    for _ in range(2):
        clock.advance(1)
        s.tick()
    assert [(args, kwargs) for _, args, kwargs, _ in s.sent] == [((0,), {'n': 'x'}),
                                                                 ((1,), {'n': 'x'})]


def test_add_periodic_task_entries_are_scheduled(app, clock):
    app.conf.beat_schedule = {}
    app.add_periodic_task(every(3, clock), app.signature('proj.p', (4,)), name='p',
                          queue='qq')
    s = RecordingScheduler(app)
    clock.advance(3)
    s.tick()
    assert s.sent == [('proj.p', (4,), {}, {'queue': 'qq'})]

"""PersistentScheduler: the schedule file across restarts."""
from __future__ import annotations

import logging
import os
import shelve

import pytest

import celery
from celery.schedules import schedule

from .conftest import RecordingPersistentScheduler


@pytest.fixture
def filename(tmp_path):
    return str(tmp_path / 'celerybeat-schedule')


def start(app, filename, clock, seconds=10):
    app.conf.beat_schedule = {'t': {'task': 'proj.t', 'schedule': schedule(seconds, nowfun=clock)}}
    return RecordingPersistentScheduler(app, schedule_filename=filename)


def test_file_records_version_zone_and_entries(app, filename, clock):
    start(app, filename, clock).close()
    with shelve.open(filename) as store:
        assert store['__version__'] == celery.__version__
        assert store['tz'] == app.conf.timezone
        assert store['utc_enabled'] == app.conf.enable_utc
        assert set(store['entries']) == {'t'}


def test_restart_keeps_run_history(app, filename, clock):
    s = start(app, filename, clock)
    s.tick()
    clock.advance(10)
    s.tick()
    s.close()
    s2 = start(app, filename, clock)
    assert s2.schedule['t'].total_run_count == 1
    assert s2.schedule['t'].last_run_at == clock.now
    s2.tick()
    assert s2.sent == []  # that due time was already sent
    s2.close()


def test_runs_are_written_before_sending(app, filename, clock):
    s = start(app, filename, clock)
    clock.advance(10)
    s.tick()
    assert len(s.sent) == 1
    # beat is killed here without closing: a new beat must not resend.
    s2 = start(app, filename, clock)
    s2.tick()
    assert s2.sent == []
    s2.close()


def test_removed_entries_are_dropped(app, filename, clock):
    start(app, filename, clock).close()
    app.conf.beat_schedule = {'other': {'task': 'proj.o', 'schedule': 5}}
    s = RecordingPersistentScheduler(app, schedule_filename=filename)
    assert set(s.schedule) == {'other'}
    s.close()


def test_timezone_change_resets_the_file(app, filename, clock, caplog):
    app.conf.timezone = 'UTC'
    s = start(app, filename, clock)
    clock.advance(10)
    s.tick()
    s.close()
    app.conf.timezone = 'Europe/Paris'
    with caplog.at_level(logging.WARNING):
        s2 = start(app, filename, clock)
    assert 'Timezone changed' in caplog.text
    assert s2.schedule['t'].total_run_count == 0
    s2.close()


@pytest.mark.parametrize('garbage', [b'not a database at all', b'\x00' * 64])
def test_corrupt_file_is_replaced(app, filename, clock, caplog, garbage):
    for suffix in ('', '.dat', '.dir'):
        with open(filename + suffix, 'wb') as f:
            f.write(garbage)
    with caplog.at_level(logging.ERROR):
        s = start(app, filename, clock)
    assert 'corrupted schedule file' in caplog.text
    clock.advance(10)
    s.tick()
    assert len(s.sent) == 1
    s.close()


def test_unreadable_entries_are_replaced(app, filename, clock, caplog):
    with shelve.open(filename) as store:
        store['entries'] = 'not a dict'
        store.update({'__version__': celery.__version__, 'tz': None, 'utc_enabled': True})
    with caplog.at_level(logging.ERROR):
        s = start(app, filename, clock)
    assert set(s.schedule) == {'t'}
    s.close()


def test_close_twice_is_harmless(app, filename, clock):
    s = start(app, filename, clock)
    s.close()
    s.close()
    assert any(os.path.exists(filename + suffix) for suffix in ('', '.db', '.dat'))


def test_info_names_the_file(app, filename, clock):
    s = start(app, filename, clock)
    assert filename in s.info
    s.close()

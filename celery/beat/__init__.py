"""The periodic task scheduler (``celery beat``).

:class:`Service` runs a :class:`Scheduler`, which sends each
:class:`ScheduleEntry` of ``beat_schedule`` when its schedule says it is
due; :class:`PersistentScheduler` (the default) remembers when entries
last ran in a shelve file so restarts neither skip nor repeat runs.
"""
from __future__ import annotations

from celery import __version__
from celery.beat.entry import BeatLazyFunc, ScheduleEntry, SchedulingError, event_t
from celery.beat.persistent import PersistentScheduler
from celery.beat.remote_control import NODENAME_DEFAULT, BeatPidbox, beat_nodename
from celery.beat.scheduler import DEFAULT_MAX_INTERVAL, Scheduler
from celery.beat.service import EmbeddedService, Service

__all__ = (
    'SchedulingError', 'ScheduleEntry', 'Scheduler', 'PersistentScheduler',
    'Service', 'EmbeddedService', 'BeatLazyFunc', 'DEFAULT_MAX_INTERVAL', 'event_t',
    'BeatPidbox',
)

# Pickles (the schedule file) name classes by module: keep Celery's path so
# schedule files are interchangeable with Celery's.
for _cls in (SchedulingError, ScheduleEntry, Scheduler, PersistentScheduler,
             Service, BeatLazyFunc, event_t, BeatPidbox):
    _cls.__module__ = __name__
del _cls

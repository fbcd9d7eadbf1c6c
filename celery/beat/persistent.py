"""The default scheduler: keeps run history in a ``shelve`` file across restarts."""
from __future__ import annotations

import dbm
import errno
import os
import shelve
from collections.abc import MutableMapping
from typing import Any

from celery import __version__, platforms
from celery.beat.entry import ScheduleEntry
from celery.beat.scheduler import Scheduler
from celery.utils.log import get_logger

__all__ = ('PersistentScheduler',)

logger = get_logger('celery.beat')

_ENABLED = {True: 'enabled', False: 'disabled'}


class PersistentScheduler(Scheduler):
    """Scheduler that stores the schedule in a shelve file (``celerybeat-schedule``).

    The file holds ``entries`` (name → :class:`~celery.beat.ScheduleEntry`),
    ``__version__``, ``tz`` and ``utc_enabled``; it is reset when the time
    zone settings change, and recreated when it cannot be read.  Runs are
    written to the file before their tasks are sent, so a restart never
    sends the same run twice.
    """

    persistence = shelve
    known_suffixes = ('', '.db', '.dat', '.bak', '.dir')
    sync_before_send = True

    _store: Any = None
    #: The entries dict; held here because a writeback shelf drops its
    #: cache on sync, and reloading would cost a full unpickle per sync.
    _entries: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.schedule_filename = kwargs.get('schedule_filename')
        super().__init__(*args, **kwargs)

    def _remove_db(self) -> None:
        for suffix in self.known_suffixes:
            with platforms.ignore_errno(errno.ENOENT):
                os.remove(self.schedule_filename + suffix)

    def _open_schedule(self) -> shelve.Shelf:
        return self.persistence.open(self.schedule_filename, writeback=True)

    def _destroy_open_corrupted_schedule(self, exc: BaseException) -> shelve.Shelf:
        logger.error('Removing corrupted schedule file %r: %r (a new one is created; '
                     'run history is lost)', self.schedule_filename, exc)
        self._remove_db()
        return self._open_schedule()

    def setup_schedule(self) -> None:
        """Open the schedule file, validate it, and merge in ``beat_schedule``."""
        try:
            self._store = self._open_schedule()
            # Some dbm backends open a damaged file fine and fail on first read.
            self._store.keys()
        except Exception as exc:
            self._store = self._destroy_open_corrupted_schedule(exc)
        self._create_schedule()
        self._reset_if_changed('tz', self.app.conf.timezone, 'Timezone', repr)
        self._reset_if_changed('utc_enabled', self.app.conf.enable_utc, 'UTC', _ENABLED.get)
        self._entries = self._store.setdefault('entries', {})
        self.merge_inplace(self.app.conf.beat_schedule)
        self.install_default_entries(self.schedule)
        self._store.update({'__version__': __version__, 'tz': self.app.conf.timezone,
                            'utc_enabled': self.app.conf.enable_utc})
        self.sync()
        logger.debug('Current schedule:\n%s',
                     '\n'.join(repr(entry) for entry in self.schedule.values()))

    def _reset_if_changed(self, key: str, value: Any, label: str, show: Any) -> None:
        stored = self._store.get(key)
        if stored is not None and stored != value:
            logger.warning('Reset: %s changed from %s to %s', label, show(stored), show(value))
            self._store.clear()

    def _create_schedule(self) -> None:
        for _ in (1, 2):
            try:
                entries = self._store['entries']
                self._check_entries(entries)
            except KeyError:
                try:
                    self._store['entries'] = {}
                except Exception as exc:
                    self._store = self._destroy_open_corrupted_schedule(exc)
                    continue
            except Exception as exc:  # unreadable pickles, wrong types...
                self._store = self._destroy_open_corrupted_schedule(exc)
                continue
            else:
                for field in ('__version__', 'tz', 'utc_enabled'):
                    if field not in self._store:
                        logger.warning('DB Reset: Account for new %s field', field)
                        self._store.clear()
                        break
            break

    @staticmethod
    def _check_entries(entries: Any) -> None:
        if not isinstance(entries, dict) or not all(
                isinstance(entry, ScheduleEntry) for entry in entries.values()):
            raise TypeError(f'"entries" is not a dict of schedule entries: {type(entries)!r}')

    def get_schedule(self) -> MutableMapping[str, ScheduleEntry]:
        """Return the ``entries`` mapping stored in the file."""
        return self._entries

    def set_schedule(self, schedule: MutableMapping[str, ScheduleEntry]) -> None:
        """Replace the stored entries."""
        self._entries = self._store['entries'] = schedule

    schedule = property(get_schedule, set_schedule)  # type: ignore[assignment]

    def sync(self) -> None:
        """Write the schedule to disk."""
        if self._store is not None:
            try:
                self._store['entries'] = self._entries
                self._store.sync()
            except dbm.error as exc:
                logger.error('beat: could not write schedule file %r: %r',
                             self.schedule_filename, exc)

    def close(self) -> None:
        """Write the schedule to disk and close the file."""
        if self._store is None:
            return
        self.sync()
        self._store.close()
        self._store = None
        self._reset_connection()

    @property
    def info(self) -> str:
        """Banner line naming the schedule file."""
        return f'    . db -> {self.schedule_filename}'

"""Pidfiles used as locks, so two daemons can't run under one name."""
from __future__ import annotations

import atexit
import os
import sys
from typing import Any

from celery.exceptions import CeleryError
from celery.platforms.system import EX_CANTCREAT

__all__ = ('LockFailed', 'Pidfile', 'PIDFile', 'create_pidlock')

PIDFILE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY
PIDFILE_MODE = 0o644

# Celery's user-visible text, kept verbatim.
PIDLOCKED = """ERROR: Pidfile ({0}) already exists.
Seems we're already running? (pid: {1})"""


class LockFailed(CeleryError):
    """The pidfile could not be created or does not hold our pid."""


class Pidfile:
    """A pidfile used as a lock so two daemons can't share one name."""

    #: Absolute path of the file (set per instance).
    path: str | None = None

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))

    def __enter__(self) -> Pidfile:
        return self.acquire()

    def __exit__(self, *args: Any) -> None:
        self.release()

    def acquire(self) -> Pidfile:
        """Create the pidfile holding this process' pid; raise :exc:`LockFailed` if taken."""
        try:
            self.write_pid()
        except OSError as exc:
            raise LockFailed(f'could not create pidfile {self.path!r}: {exc}') from exc
        return self

    def is_locked(self) -> bool:
        """Return True if the pidfile exists."""
        return os.path.exists(self.path)

    def release(self, *args: Any) -> None:
        """Remove the pidfile (``args`` are ignored: usable as an exit callback)."""
        self.remove()

    def read_pid(self) -> int | None:
        """Return the pid in the file, None if there's no file; ValueError if garbled."""
        try:
            with open(self.path) as fh:
                line = fh.readline()
        except FileNotFoundError:
            return None
        if not line.strip() or not line.endswith('\n'):
            raise ValueError(f'pidfile {self.path!r} contents invalid (partially written?).')
        try:
            return int(line.strip())
        except ValueError:
            raise ValueError(f'pidfile {self.path!r} contents invalid: {line.strip()!r}.') from None

    def remove(self) -> None:
        """Remove the pidfile, ignoring that it may already be gone."""
        try:
            os.unlink(self.path)
        except (FileNotFoundError, PermissionError):
            pass

    def remove_if_stale(self) -> bool:
        """Remove the pidfile if its process is gone; return True if removed."""
        verdict = self._staleness()
        if verdict is None:
            return False
        if verdict:
            print(verdict, file=sys.stderr)
        self.remove()
        return True

    def _staleness(self) -> str | None:
        """None while the pidfile's process lives, else why it is stale ('' if not worth saying)."""
        try:
            pid = self.read_pid()
        except ValueError:
            return f'Broken pidfile found {self.path!r} - removing it.'
        # No pid, or our own: left over from a process we replaced (e.g. by exec).
        if not pid or pid == os.getpid():
            return ''
        try:
            os.kill(pid, 0)  # signal 0 only checks that the process exists
        except ProcessLookupError:
            return f'Stale pidfile exists - removing it (pid {pid} is gone).'
        except PermissionError:
            pass  # it exists, it is just not ours to signal
        return None

    def write_pid(self) -> None:
        """Write our pid into a newly created pidfile and verify it on disk."""
        content = f'{os.getpid()}\n'
        fd = os.open(self.path, PIDFILE_FLAGS, PIDFILE_MODE)
        with os.fdopen(fd, 'w') as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        with open(self.path) as fh:
            if fh.read() != content:
                raise LockFailed(f"Inconsistency: pidfile {self.path!r} content doesn't match at re-read")


def create_pidlock(pidfile: str) -> Pidfile:
    """Create and verify a pidfile, exiting with EX_CANTCREAT if another process holds it.

    The pidfile is removed again when the program exits.
    """
    pidlock = _create_pidlock(pidfile)
    atexit.register(pidlock.release)
    return pidlock


def _create_pidlock(pidfile: str) -> Pidfile:
    pidlock = Pidfile(pidfile)
    if pidlock.is_locked() and not pidlock.remove_if_stale():
        print(PIDLOCKED.format(pidfile, pidlock.read_pid()), file=sys.stderr)
        raise SystemExit(EX_CANTCREAT)
    try:
        pidlock.acquire()
    except LockFailed as exc:
        print(f'ERROR: {exc}', file=sys.stderr)
        raise SystemExit(EX_CANTCREAT) from exc
    return pidlock


#: The name Celery also exports the class under.
PIDFile = Pidfile

"""Turning the current process into a daemon (``--detach``)."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from celery.exceptions import CeleryError
from celery.platforms.fds import close_open_fds, fd_by_path, maybe_fileno, resource
from celery.platforms.pidfile import _create_pidlock
from celery.platforms.privileges import maybe_drop_privileges
from celery.platforms.signal_handlers import signals

__all__ = ('DaemonContext', 'detached')

DAEMON_WORKDIR = '/'
DAEMON_UMASK = 0


def _parse_umask(umask: int | str | None) -> int | None:
    # From the command line a umask is octal text ('022').
    if isinstance(umask, str):
        return int(umask, 8)
    return umask


class DaemonContext:
    """Context that turns the current process into a daemon (double fork, new session)."""

    _is_open = False

    def __init__(self, pidfile: str | None = None, workdir: str | None = None,
                 umask: int | str | None = None, fake: bool = False,
                 after_chdir: Callable[[], Any] | None = None,
                 after_forkers: bool = True, **kwargs: Any) -> None:
        self.workdir = workdir or DAEMON_WORKDIR
        self.umask = _parse_umask(umask)
        self.fake = fake
        self.after_chdir = after_chdir
        self.after_forkers = after_forkers
        self.stdfds = (sys.stdin, sys.stdout, sys.stderr)

    def redirect_to_null(self, fd: int | None) -> None:
        """Point ``fd`` at /dev/null."""
        if fd is not None:
            dest = os.open(os.devnull, os.O_RDWR)
            os.dup2(dest, fd)
            os.close(dest)

    def open(self) -> None:
        """Detach: fork twice, chdir, set umask, close fds and silence stdio.

        A ``fake`` context stays in the foreground with its files: it only
        changes directory and umask.
        """
        if self._is_open:
            return
        if self.fake:
            self._settle()
        else:
            self._detach()
            self._settle()
            self._let_go_of_inherited_files()
        self._is_open = True

    __enter__ = open

    def close(self, *args: Any) -> None:
        """Mark the context closed (the process stays a daemon)."""
        self._is_open = False

    __exit__ = close

    def _settle(self) -> None:
        """Move to the working directory, apply the umask, then run ``after_chdir``."""
        os.chdir(self.workdir)
        if self.umask is not None:
            os.umask(self.umask)
        if self.after_chdir:
            self.after_chdir()

    def _let_go_of_inherited_files(self) -> None:
        """Close what the parent left open and point stdio at /dev/null."""
        # Keep /dev/urandom open: os.urandom may cache an fd to it.
        close_open_fds([*self.stdfds, *fd_by_path(['/dev/urandom'])])
        for stream in self.stdfds:
            self.redirect_to_null(maybe_fileno(stream))
        if self.after_forkers:
            # Hooks given to billiard's register_after_fork(), which a plain
            # os.fork() does not run by itself.
            from celery.transport.billiard_util import run_after_forkers
            run_after_forkers()

    def _detach(self) -> None:
        if os.fork() == 0:      # first child
            os.setsid()         # new session, no controlling terminal
            if os.fork() > 0:   # second child can never regain a terminal
                os._exit(0)
        else:
            os._exit(0)


def detached(logfile: str | None = None, pidfile: str | None = None,
             uid: int | str | None = None, gid: int | str | None = None,
             umask: int | str | None = 0, workdir: str | None = None, fake: bool = False,
             **opts: Any) -> DaemonContext:
    """Return a :class:`DaemonContext` that detaches the current process.

    Privileges are dropped first, and the logfile and pidfile are checked
    before detaching: once stdio is closed an error there would be silent.
    """
    if resource is None:
        raise CeleryError('This platform does not support detach.')
    workdir = os.getcwd() if workdir is None else workdir
    signals.reset('SIGCLD')  # children must be reaped by the default handler
    maybe_drop_privileges(uid=uid, gid=gid)

    def after_chdir_do() -> None:
        if logfile:
            open(logfile, 'a').close()
        if pidfile:
            # Only verifies the pidfile is not held; the program writes it later.
            _create_pidlock(pidfile).release()

    return DaemonContext(umask=umask, workdir=workdir, fake=fake,
                         after_chdir=after_chdir_do, **opts)

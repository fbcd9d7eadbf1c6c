"""Remote debugger: pdb served over a TCP socket, for processes without a terminal.

Put ``rdb.set_trace()`` in a task; when the worker reaches it, it logs the
port to connect to (``telnet 127.0.0.1 6899``) and waits.  The session ends
with ``continue`` (or ``exit``), and the task carries on.

Environment variables:

``CELERY_RDB_HOST``
    Address to listen on (default ``127.0.0.1``: only local connections).
``CELERY_RDB_PORT``
    First port to try (default 6899); the next free one above it is used,
    so several processes can wait for a debugger client at once.
"""
from __future__ import annotations

import errno
import os
import socket
import sys
from pdb import Pdb
from types import FrameType
from typing import IO, Any

from celery.exceptions import CeleryError

__all__ = ('CELERY_RDB_HOST', 'CELERY_RDB_PORT', 'DEFAULT_PORT', 'Rdb', 'debugger', 'set_trace')

DEFAULT_PORT = 6899
#: Address and first port, as read when this module was imported.
CELERY_RDB_HOST = os.environ.get('CELERY_RDB_HOST') or '127.0.0.1'
CELERY_RDB_PORT = int(os.environ.get('CELERY_RDB_PORT') or DEFAULT_PORT)
#: How many ports above the first one are tried.
PORT_SEARCH_LIMIT = 100

BANNER = """\
{self.ident}: Please telnet {self.host} {self.port}.  Type `exit` in session to continue.

{self.ident}: Waiting for client...
"""
SESSION_STARTED = '{self.ident}: Now in session with {self.remote_addr}.'
SESSION_ENDED = '{self.ident}: Session with {self.remote_addr} ended.'
NO_AVAILABLE_PORT = (
    '{me}: No free port in {first}-{last} on {host}: set CELERY_RDB_PORT to a '
    'range that has free ports.')


def _port_skew() -> int:
    """Offset of this pool process, so pool children start their search apart."""
    from celery.utils.log import current_process_index
    return current_process_index(base=0) or 0


class Rdb(Pdb):
    """A pdb session served to one TCP client; blocks until the client connects."""

    me = 'Remote Debugger'

    def __init__(self, host: str | None = None, port: int | None = None,
                 port_search_limit: int = PORT_SEARCH_LIMIT, port_skew: int | None = None,
                 out: IO[str] | None = None) -> None:
        self.active = True
        self.out = out if out is not None else sys.stdout
        self.host = host or os.environ.get('CELERY_RDB_HOST') or CELERY_RDB_HOST
        base_port = port or int(os.environ.get('CELERY_RDB_PORT') or CELERY_RDB_PORT)
        skew = _port_skew() if port_skew is None else port_skew
        self._sock, self.port = self.get_avail_port(self.host, base_port, port_search_limit, skew)
        self._sock.listen(1)
        self.ident = f'{self.me}:{self.port}'
        self.say(BANNER.format(self=self))
        self._client, address = self._sock.accept()
        self.remote_addr = ':'.join(str(part) for part in address[:2])
        self.say(SESSION_STARTED.format(self=self))
        self._handle = self._client.makefile('rw')
        super().__init__(completekey='tab', stdin=self._handle, stdout=self._handle)
        self.prompt = '(Pdb) '

    def get_avail_port(self, host: str, port: int, search_limit: int = PORT_SEARCH_LIMIT,
                       skew: int = 0) -> tuple[socket.socket, int]:
        """Bind a listening socket to the first free port from ``port + skew``."""
        first = port + skew
        for candidate in range(first, first + search_limit):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, candidate))
            except OSError as exc:
                sock.close()
                if exc.errno in (errno.EADDRINUSE, errno.EINVAL, errno.EACCES):
                    continue
                raise
            return sock, candidate
        raise CeleryError(NO_AVAILABLE_PORT.format(
            me=self.me, first=first, last=first + search_limit - 1, host=host))

    def say(self, m: str) -> None:
        """Write a status line for the person running the worker."""
        print(m, file=self.out, flush=True)

    def __enter__(self) -> Rdb:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        # Leaving the block ends the session: the client's socket is closed.
        self._close_session()

    def _close_session(self) -> None:
        if not self.active:
            return
        self.active = False
        for closable in (self._handle, self._client, self._sock):
            try:
                closable.close()
            except OSError:
                pass  # the client may already have gone away.
        self.say(SESSION_ENDED.format(self=self))

    def do_continue(self, arg: str) -> bool:
        """Leave the session and let the program run on."""
        self._close_session()
        self.set_continue()
        return True
    do_c = do_cont = do_continue

    do_quit = do_exit = do_q = do_EOF = do_continue

    def interaction(self, frame: FrameType | None, traceback: Any) -> None:
        """Run the session; a client that vanishes ends it instead of failing the task."""
        try:
            super().interaction(frame, traceback)
        except OSError:
            self._close_session()
            self.set_continue()

    def set_trace(self, frame: FrameType | None = None) -> None:  # type: ignore[override]
        """Start debugging at ``frame`` (the caller's by default)."""
        if frame is None:
            frame = sys._getframe().f_back
        super().set_trace(frame)


_current: list[Rdb | None] = [None]


def debugger() -> Rdb:
    """Return the active remote debugger, starting a new one (and waiting for a client)."""
    rdb = _current[0]
    if rdb is None or not rdb.active:
        rdb = _current[0] = Rdb()
    return rdb


def set_trace(frame: FrameType | None = None) -> Any:
    """Set a breakpoint at ``frame`` (the caller's by default) and serve it over TCP."""
    if frame is None:
        frame = sys._getframe().f_back
    return debugger().set_trace(frame)

"""Thread helpers: background service threads and thread-local stacks."""
from __future__ import annotations

import os
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

__all__ = (
    'Local',
    'LocalManager',
    'LocalStack',
    'bgThread',
    'bound_open_broker_sockets',
    'default_socket_timeout',
    'get_ident',
    'release_local',
)

THREAD_TIMEOUT_MAX = threading.TIMEOUT_MAX

get_ident = threading.get_ident


@contextmanager
def default_socket_timeout(timeout: float | None) -> Iterator[None]:
    """Context with :func:`socket.setdefaulttimeout` temporarily set to ``timeout``."""
    if timeout is None:
        yield
        return
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


class bgThread(threading.Thread):
    """Daemon thread calling :meth:`body` in a loop until :meth:`stop` is called.

    If :meth:`body` raises, the whole process exits: these threads are
    essential services and a worker missing one would silently hang.
    """

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self._is_shutdown = threading.Event()
        self._is_stopped = threading.Event()
        self.daemon = True
        self.name = name or type(self).__name__

    def body(self) -> None:
        """One iteration of the thread's work."""
        raise NotImplementedError('subclass responsibility')

    def on_crash(self, msg: str, *fmt: Any, **kwargs: Any) -> None:
        """Report a crash of :meth:`body` on stderr."""
        print(msg.format(*fmt), file=sys.stderr)
        traceback.print_exc(None, sys.stderr)

    def run(self) -> None:
        """Call :meth:`body` until stopped."""
        body = self.body
        shutdown_set = self._is_shutdown.is_set
        try:
            while not shutdown_set():
                try:
                    body()
                except Exception as exc:  # noqa: BLE001 - see the class docstring
                    try:
                        self.on_crash('{0!r} crashed: {1!r}', self.name, exc)
                        self._is_stopped.set()
                    finally:
                        sys.stderr.flush()
                        os._exit(1)
        finally:
            self._is_stopped.set()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it."""
        self._is_shutdown.set()
        self._is_stopped.wait()
        if self.is_alive() and self is not threading.current_thread():
            self.join(THREAD_TIMEOUT_MAX)


#: Celery's switch between its own locals and :class:`threading.local`
#: (environment ``USE_FAST_LOCALS``); ours are always threading.local.
USE_FAST_LOCALS = os.environ.get('USE_FAST_LOCALS') or None


class Local(threading.local):
    """Thread (or greenlet, once patched) local attribute namespace."""

    def __init__(self) -> None:
        super().__init__()

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """Iterate over this thread's ``(name, value)`` pairs."""
        return iter(list(self.__dict__.items()))

    def __call__(self, proxy: str) -> Any:
        """Return a proxy to this thread's attribute named ``proxy``."""
        from functools import partial

        from celery.local import Proxy
        return Proxy(partial(getattr, self, proxy))

    def __release_local__(self) -> None:
        self.__dict__.clear()


@contextmanager
def bound_open_broker_sockets(connection: Any, timeout: float | None) -> Iterator[Any]:
    """Give the open sockets of broker ``connection`` a ``timeout`` inside the block.

    A thread blocked reading from the broker then wakes up after ``timeout``
    seconds instead of never; the previous timeouts come back on exit.
    """
    sockets = _open_sockets(connection)
    previous = [sock.gettimeout() for sock in sockets]
    for sock in sockets:
        sock.settimeout(timeout)
    try:
        yield connection
    finally:
        for sock, old in zip(sockets, previous):
            with suppress(OSError):
                sock.settimeout(old)


def _open_sockets(connection: Any) -> list[Any]:
    from kombu import Connection
    client = connection
    if isinstance(connection, Connection):
        # Its transport's connection, if connected (``connection.connection``
        # alone would connect).
        client = connection.connection if connection.connected else None
    candidates = [getattr(client, 'sock', None),
                  getattr(getattr(client, 'transport', None), 'sock', None)]
    found = []
    for sock in candidates:
        if sock is not None and hasattr(sock, 'settimeout') and sock not in found:
            found.append(sock)
    return found


def release_local(local: Local | LocalStack) -> None:
    """Clear the current thread's data in ``local``."""
    local.__release_local__()


class LocalStack:
    """A stack of objects private to each thread; ``top`` is the last pushed."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __release_local__(self) -> None:
        self._local.__dict__.clear()

    @property
    def stack(self) -> list[Any]:
        """This thread's stack (a new empty list if none)."""
        try:
            return self._local.stack
        except AttributeError:
            stack = self._local.stack = []
            return stack

    def push(self, obj: Any) -> list[Any]:
        """Push ``obj`` onto this thread's stack."""
        stack = self.stack
        stack.append(obj)
        return stack

    def pop(self) -> Any:
        """Remove and return the top item, or None when empty."""
        stack = getattr(self._local, 'stack', None)
        if not stack:
            return None
        return stack.pop()

    @property
    def top(self) -> Any:
        """The top item, or None when empty."""
        stack = getattr(self._local, 'stack', None)
        return stack[-1] if stack else None

    def __len__(self) -> int:
        return len(getattr(self._local, 'stack', ()))


class LocalManager:
    """Releases a group of locals together (e.g. at the end of a request)."""

    def __init__(self, locals: Any = None, ident_func: Any = None) -> None:
        if locals is None:
            self.locals: list[Any] = []
        elif isinstance(locals, (Local, LocalStack)):
            self.locals = [locals]
        else:
            self.locals = list(locals)
        self.ident_func = ident_func or get_ident

    def get_ident(self) -> int:
        """Identify the current thread."""
        return self.ident_func()

    def cleanup(self) -> None:
        """Release this thread's data in every managed local."""
        for local in self.locals:
            release_local(local)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} storages: {len(self.locals)}>'

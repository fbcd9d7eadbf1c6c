"""The Redis result backend's own commands on one connection held per process.

A result stored by a pool child (``EVALSHA`` of the store script) and the
stored states a waiting client reads (``MGET``) are on the critical path of
every ``add.delay(1, 1).get()``.  Sent through a :class:`redis.Redis` client,
each takes a connection from redis-py's pool and gives it back: the pool
checks its process (``getpid`` twice), checks the connection is still
readable (two ``ioctl``, a ``recvfrom`` answering ``EAGAIN``), takes a lock
and runs its observability hooks, and the client packs the command through
its generic packer and wraps the call in its retry layer.  Eight system calls
where two carry the work, and about as much Python.

:class:`HeldConnection` takes one connection of the backend's pool at its
first command and keeps it checked out, sending commands packed by hand
(:func:`pack_command`) and reading the reply with the connection's own parser.
It shares :class:`celery.transport.redis_publish.HeldPoolConnection` with
the transport's publisher and uses redis-py's documented connection API only:
``ConnectionPool.get_connection`` and ``release``, ``send_packed_command``,
``pack_command``, ``read_response`` and ``disconnect``; it reads, without
changing them, the connection's ``encoder`` and the pool's
``max_connections`` and ``connection_kwargs``.

What redis-py's client would do is kept where it matters:

- a forked child never writes on its parent's socket: a fork makes every
  holder forget its connection (:func:`os.register_at_fork`, no ``getpid``
  per command), and the child opens its own;
- a second thread (or green thread) finds the connection busy and goes
  through the client as before;
- a connection lost while idle (server restart, ``CLIENT KILL``, an idle
  timeout) is what the pool's readiness check would have caught: the command
  is sent once more on a new connection, as redis-py's retry would; a second
  failure is raised (as a connection error: the backend's retry policy takes
  over), and so is a timeout unless ``retry_on_timeout`` is set;
- a command cut mid-way (``SoftTimeLimitExceeded`` raised inside it, any
  error but an error reply) drops the connection: its reply is never read
  half.
"""
from __future__ import annotations

import os
import threading
from typing import Any

from redis.exceptions import (
    ConnectionError as RedisConnectionError,
    ResponseError,
    TimeoutError as RedisTimeoutError,
)

from celery.transport.redis_publish import HeldPoolConnection

__all__ = ('BUSY', 'HeldConnection', 'pack_command')

#: Arguments longer than this are sent as their own buffer (not copied into the command).
LARGE_ARGUMENT = 1 << 16

#: What :meth:`HeldConnection.call` returns when it cannot run the command (use the client).
BUSY: Any = object()

# Bumped in a forked child: connections taken under an older generation are the parent's.
_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def pack_command(*args: bytes | str | int) -> list[bytes]:
    """A command in RESP, as redis-py packs it with UTF-8, ``strict`` encoding."""
    chunks: list[bytes] = []
    head = b'*%d\r\n' % len(args)
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b'%d' % arg
        if len(arg) > LARGE_ARGUMENT:
            chunks.append(head + b'$%d\r\n' % len(arg))
            chunks.append(arg)
            head = b'\r\n'
        else:
            head += b'$%d\r\n%b\r\n' % (len(arg), arg)
    chunks.append(head)
    return chunks


def holds(pool: Any) -> bool:
    """Whether a connection of ``pool`` may stay checked out.

    Not when the pool has a single connection (the client's other commands
    need it), nor with a credential provider (redis-py re-authenticates a
    connection as it is released).
    """
    kwargs = getattr(pool, 'connection_kwargs', None) or {}
    limit = getattr(pool, 'max_connections', None)
    return (limit is None or limit >= 2) and kwargs.get('credential_provider') is None


class HeldConnection(HeldPoolConnection):
    """One connection of a redis-py pool, kept checked out for the backend's commands."""

    def __init__(self, pool: Any) -> None:
        super().__init__(pool)
        kwargs = getattr(pool, 'connection_kwargs', None) or {}
        self._retry_on_timeout = bool(kwargs.get('retry_on_timeout'))
        self._generation = _generation
        # Busy means another thread runs a command: it uses the client instead.
        self._lock = threading.Lock()

    def call(self, *args: bytes | str | int) -> Any:
        """Run a command on the held connection and return its reply (:data:`BUSY`: use the client).

        An error reply is raised and the connection kept; a lost connection
        is retried once on a new one if it had served before, else raised.
        """
        if not self._lock.acquire(blocking=False):
            return BUSY
        try:
            if self._generation != _generation:
                # Forked: the connection (and the pool's bookkeeping of it) is the parent's.
                self.connection, self._generation = None, _generation
            reused = self.connection is not None
            try:
                return self._call(args)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if not reused or (isinstance(exc, RedisTimeoutError)
                                  and not self._retry_on_timeout):
                    raise
            return self._call(args)
        finally:
            self._lock.release()

    def _call(self, args: tuple[bytes | str | int, ...]) -> Any:
        connection = self._connection()
        try:
            if self._packs:
                connection.send_packed_command(pack_command(*args))
            else:
                connection.send_packed_command(connection.pack_command(*args))
            return connection.read_response()
        except ResponseError:
            raise   # the whole reply was read: the connection stays usable
        except BaseException:
            self._drop()   # lost, or cut mid-command: its state is unknown
            raise

    def close(self) -> None:
        """Disconnect the held connection and give it back (a forked child's is left alone)."""
        with self._lock:
            if self._generation != _generation:
                self.connection, self._generation = None, _generation
            self._drop()

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

import threading
from typing import Any

from redis.exceptions import (
    ConnectionError as RedisConnectionError,
    ResponseError,
    TimeoutError as RedisTimeoutError,
)

from celery.transport.redis_publish import HeldPoolConnection, pack_command

__all__ = ('BUSY', 'HeldConnection')

#: What :meth:`HeldConnection.call` returns when it cannot run the command (use the client).
BUSY: Any = object()


class HeldConnection(HeldPoolConnection):
    """One connection of a redis-py pool, kept checked out for the backend's commands."""

    def __init__(self, pool: Any) -> None:
        super().__init__(pool)
        kwargs = getattr(pool, 'connection_kwargs', None) or {}
        self._retry_on_timeout = bool(kwargs.get('retry_on_timeout'))
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
            self._forget_if_forked()
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
            super().close()

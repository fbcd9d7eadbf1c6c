"""Publishing on Redis: one connection held per channel, ``LPUSH`` packed by hand.

The owned Redis channel (:mod:`celery.transport.redis`) pushes each message
through a :class:`Publisher`.  Taking a connection from redis-py's pool and
giving it back costs a quarter to a third of a publish (locking, a socket
poll, the pool's observability hooks), and packing the command through the
connection's packer costs several times packing it by hand; so the publisher
takes one connection of the channel's own pool at its first push, keeps it
checked out, and sends a ready-made ``LPUSH`` on it.

It uses redis-py's public connection API only (``ConnectionPool.get_connection``
and ``release``, ``send_packed_command``, ``send_command``,
``read_response``, ``disconnect``), and reads, without changing them, the
connection's ``encoder`` (the command is packed by hand only when redis-py
would encode it the same way: UTF-8, ``strict``) and the pool's
``max_connections`` and ``connection_kwargs`` (when not to hold a
connection).  A forked child must never write on its parent's socket: a
fork makes every held connection forget the one it took
(:func:`os.register_at_fork`, no ``getpid`` per push), and the child takes its
own.  :class:`HeldPoolConnection` and :func:`pack_command` are shared with the
Redis result backend (:mod:`celery.backends.redis_held`).
"""
from __future__ import annotations

import codecs
import os
import threading
from typing import Any

from redis.exceptions import (
    ConnectionError as RedisConnectionError,
    ResponseError,
    TimeoutError as RedisTimeoutError,
)

from celery.utils.log import get_logger

__all__ = ('HeldPoolConnection', 'Publisher', 'holds', 'pack_command', 'pack_lpush')

logger = get_logger(__name__)

#: Payloads longer than this are sent as their own buffer (not copied into the command).
LARGE_PAYLOAD = 1 << 16

# Bumped in a forked child: connections taken under an older generation are the parent's.
_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def pack_lpush(key: str, payload: str) -> list[bytes]:
    """``LPUSH key payload`` in RESP, as redis-py packs it with UTF-8, ``strict`` encoding."""
    name, data = key.encode(), payload.encode()
    if len(data) > LARGE_PAYLOAD:
        head = b'*3\r\n$5\r\nLPUSH\r\n$%d\r\n%b\r\n$%d\r\n' % (len(name), name, len(data))
        return [head, data, b'\r\n']
    return [b'*3\r\n$5\r\nLPUSH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n' % (
        len(name), name, len(data), data)]


def pack_command(*args: bytes | str | int) -> list[bytes]:
    """A command in RESP, as redis-py packs it with UTF-8, ``strict`` encoding."""
    chunks: list[bytes] = []
    head = b'*%d\r\n' % len(args)
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b'%d' % arg
        if len(arg) > LARGE_PAYLOAD:
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


def _encodes_as_utf8(connection: Any) -> bool:
    encoder = getattr(connection, 'encoder', None)
    if encoder is None:
        return False
    try:
        name = codecs.lookup(encoder.encoding).name
    except (LookupError, TypeError, AttributeError):
        return False
    return name == 'utf-8' and getattr(encoder, 'encoding_errors', None) == 'strict'


class HeldPoolConnection:
    """One connection of a redis-py pool, taken at its first use and kept checked out."""

    def __init__(self, pool: Any) -> None:
        #: The pool the connection comes from.
        self.pool = pool
        #: The held connection (taken at the first command, None after an error).
        self.connection: Any = None
        # Whether commands may be packed by hand (see _encodes_as_utf8).
        self._packs = False
        self._generation = _generation

    def _forget_if_forked(self) -> None:
        # In a forked child the held connection is the parent's: left to it.
        if self._generation != _generation:
            self.connection, self._generation = None, _generation

    def _in_taking_process(self) -> bool:
        return self._generation == _generation

    def close(self) -> None:
        """Disconnect the held connection and give it back (a forked child's is left alone)."""
        self._forget_if_forked()
        self._drop()

    def _connection(self) -> Any:
        connection = self.connection
        if connection is None:
            connection = self.connection = self.pool.get_connection()
            self._packs = _encodes_as_utf8(connection)
        return connection

    def _drop(self) -> None:
        # Lost, or cut mid-command: its state is unknown, so it is not reused.
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.disconnect()
            self.pool.release(connection)


class Publisher(HeldPoolConnection):
    """One connection of a channel's pool, kept checked out to push messages on."""

    def __init__(self, pool: Any) -> None:
        super().__init__(pool)
        #: Kept between pushes (see :func:`holds`), else given back after each.
        self.hold = holds(pool)
        # Busy means another thread is pushing on this channel: it takes
        # another connection instead of interleaving with this one.
        self._lock = threading.Lock()

    def serves(self, pool: Any) -> bool:
        """Whether this publisher may push for a channel whose pool is now ``pool``."""
        return self.pool is pool and self._in_taking_process()

    def lpush(self, key: str, payload: str) -> bool:
        """``LPUSH key payload`` on the held connection; False to push through a client instead.

        False when another thread is pushing on it, or when the connection
        was lost (it is dropped; the client reconnects).  An error reply is
        raised and the connection kept (its reply was read in full); an error
        taking a connection from the pool is raised.
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            connection = self._connection()
            try:
                if self._packs:
                    connection.send_packed_command(pack_lpush(key, payload))
                else:
                    connection.send_command('LPUSH', key, payload)
                connection.read_response()
            except ResponseError:
                if not self.hold:
                    self._give_back()
                raise
            except (RedisConnectionError, RedisTimeoutError):
                logger.debug('Redis publish: connection lost, pushing again', exc_info=True)
                self._drop()
                return False
            except BaseException:
                self._drop()   # cut mid-command: its state is unknown
                raise
            if not self.hold:
                self._give_back()
        finally:
            self._lock.release()
        return True

    def _give_back(self) -> None:
        connection, self.connection = self.connection, None
        self.pool.release(connection)

"""Connection pools that a forked child leaves to its parent."""
from __future__ import annotations

import weakref
from typing import Any

from kombu import Connection
from kombu.connection import ConnectionPool

__all__ = ('AcquireTimeout', 'ForkSafeConnectionPool', 'drop_in_child')


class AcquireTimeout:
    """Pool mixin: a blocking acquire waits at most :attr:`acquire_timeout` seconds."""

    #: :setting:`broker_pool_acquire_timeout`; None waits for ever.
    acquire_timeout: float | None = None

    def acquire(self, block: bool = False, timeout: float | None = None) -> Any:
        """Take a resource; kombu's ``LimitExceeded`` when none frees up in time."""
        if timeout is None:
            timeout = self.acquire_timeout
        return super().acquire(block, timeout)  # type: ignore[misc]


class ForkSafeConnectionPool(AcquireTimeout, ConnectionPool):
    """A kombu connection pool that is not closed through a fork.

    kombu closes every pool in a forked child, and closing an AMQP connection
    shuts its socket down, which is the parent's socket too: each pool child
    forked by a worker (a replacement, autoscaling) would cut the worker's
    own pooled connections.  The app's after-fork hook calls
    :func:`drop_in_child` instead.
    """

    close_after_fork = False

    def __init__(self, connection: Connection, limit: int | None = None,
                 **kwargs: Any) -> None:
        # Every connection the pool made, wherever it is now (free, lent out
        # or dropped): the pool's own lists are kombu's private business.
        self.made: weakref.WeakSet[Connection] = weakref.WeakSet()
        super().__init__(connection, limit=limit, **kwargs)  # type: ignore[no-untyped-call]

    def new(self) -> Connection:
        """A new connection for the pool (kombu's), remembered for :func:`drop_in_child`."""
        connection: Connection = super().new()  # type: ignore[no-untyped-call]
        self.made.add(connection)
        return connection


def drop_in_child(pool: object) -> None:
    """In a forked child, let go of ``pool``'s sockets without touching the parent's.

    ``pool`` is a :class:`ForkSafeConnectionPool`; None, or another pool
    (which closes itself after a fork, as kombu's do), is left alone.
    """
    for connection in list(getattr(pool, 'made', ())):
        # ``connected`` first: ``connection.connection`` would connect.
        client = connection.connection if connection.connected else None
        sock = getattr(client, 'sock', None)
        if sock is not None:
            try:
                sock.close()   # our copy of the descriptor only; no shutdown
            except OSError:
                pass

"""Connection pools that a forked child leaves to its parent."""
from __future__ import annotations

from typing import Any

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


def drop_in_child(pool: Any) -> None:
    """In a forked child, let go of ``pool``'s sockets without touching the parent's."""
    if pool is None:
        return
    for connection in [*pool._dirty, *pool._resource.queue]:
        # ``_connection``, not ``connection``: the property would connect.
        sock = getattr(getattr(connection, '_connection', None), 'sock', None)
        if sock is not None:
            try:
                sock.close()   # our copy of the descriptor only; no shutdown
            except OSError:
                pass

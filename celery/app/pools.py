"""Connection pools that a forked child leaves to its parent."""
from __future__ import annotations

from typing import Any

from kombu.connection import ConnectionPool

__all__ = ('ForkSafeConnectionPool', 'drop_in_child')


class ForkSafeConnectionPool(ConnectionPool):
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

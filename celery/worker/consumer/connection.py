"""Consumer step: the broker connection."""
from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from kombu import Connection as KombuConnection

    from celery.worker.consumer.consumer import Consumer

__all__ = ('Connection', 'forget_in_children')

logger = get_logger(__name__)

#: Broker connections of this process that forked pool children must not keep.
_parent_connections: weakref.WeakSet[KombuConnection] = weakref.WeakSet()


def forget_in_children(connection: KombuConnection) -> None:
    """Have pool children forked from now on close their copy of ``connection``."""
    _parent_connections.add(connection)


def _drop_parent_connections() -> None:
    # A child forked while the consumer is connected (a replaced pool process)
    # inherits the broker socket.  Holding it would keep the TCP connection,
    # and its exclusive queues, alive on the broker after the worker closed or
    # lost it; so the child closes its copy (the parent's stays open).
    for connection in list(_parent_connections):
        sock = getattr(getattr(connection, 'connection', None), 'sock', None)
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    _parent_connections.clear()


os.register_at_fork(after_in_child=_drop_parent_connections)


class Connection(bootsteps.StartStopStep):
    """Connect to the broker (with retry) when the consumer starts."""

    def __init__(self, c: Consumer, **kwargs: Any) -> None:
        c.connection = None
        super().__init__(c, **kwargs)

    def start(self, c: Consumer) -> None:
        c.connection = c.connect()
        logger.info('Connected to %s', c.connection.as_uri())

    def stop(self, c: Consumer) -> None:
        """Keep the connection on restart: ``shutdown`` closes it."""

    def shutdown(self, c: Consumer) -> None:
        """Close the connection (set to None first so loops notice)."""
        connection, c.connection = c.connection, None
        if connection:
            _close_quietly(connection)

    def info(self, c: Consumer) -> dict[str, object]:
        if not c.connection:
            return {'broker': 'N/A'}
        params = c.connection.info()
        params.pop('password', None)
        return {'broker': params}


def _close_quietly(connection: KombuConnection) -> None:
    try:
        connection.close()
    except connection.connection_errors + connection.channel_errors + (OSError,):
        pass  # the broker is gone already: nothing left to close

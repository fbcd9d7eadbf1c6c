"""The app's producer pool: idle producers keep their connection and channel."""
from __future__ import annotations

from kombu import Producer
from kombu.pools import ProducerPool
from kombu.resource import Resource

from celery.app.pools import AcquireTimeout

__all__ = ('StickyProducerPool',)


class StickyProducerPool(AcquireTimeout, ProducerPool):
    """Pool of kombu producers that stay bound to a connection between uses.

    kombu's pool hands each released producer's connection back to the
    connection pool and binds it again (copying its exchange) on the next
    acquire: two pool round trips and a rebind for every task sent.  Here a
    producer keeps its connection, so acquire and release only move the
    producer.  The connections come from a pool of their own, so producers
    resting between publishes never starve other users of :attr:`app.pool`.
    """

    #: Closing in a forked child would shut the parent's sockets down; the
    #: app lets go of them instead (:func:`celery.app.pools.drop_in_child`).
    close_after_fork = False

    def release(self, resource: Producer) -> None:
        """Put ``resource`` back in the pool, still bound to its connection."""
        connection = resource.__connection__
        if not self.limit or connection is None or not connection.connected:
            # No pool (kombu closes it), or a lost connection: unbind, so the
            # next acquire connects again.
            super().release(resource)
            return
        Resource.release(self, resource)

    def force_close_all(self, close_pool: bool = True) -> None:
        """Close every producer and the connections they hold."""
        super().force_close_all(close_pool)
        self.connections.force_close_all(close_pool)

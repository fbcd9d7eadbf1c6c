"""kombu's Redis transport, publishing through one reusable redis-py client.

Extends :class:`kombu.transport.redis.Channel` because the stock channel
builds a new ``redis.Redis`` client (over the same connection pool) for
every command it sends: every published message pays for constructing
one.  redis-py clients are thread-safe and hold no state beyond their
pool, so this channel keeps one per pool and builds it again only when the
channel gets a new pool.  Switch back to the stock transport with
``CELERY_STOCK_TRANSPORTS=1`` (see :mod:`celery.transport`).
"""
from __future__ import annotations

from typing import Any

from kombu.transport import redis

__all__ = ('Channel', 'Transport')


class Channel(redis.Channel):
    """Redis channel that reuses its synchronous client while its pool stays the same."""

    _client_pool: Any = None
    _pool_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        """The channel's client for its current pool (a new one when asynchronous)."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        if self._client_pool is not pool:
            self._pool_client = super()._create_client()
            self._client_pool = pool
        return self._pool_client


class Transport(redis.Transport):
    """kombu's Redis transport, with :class:`Channel`."""

    Channel = Channel

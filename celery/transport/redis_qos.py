"""Unacked bookkeeping of the owned Redis channel: batched, kept alive, restored quickly.

Extends :class:`kombu.transport.redis.QoS` (Redis ack emulation) because
the stock class writes to Redis once per delivered message and once per
ack, refreshes nothing, and restores expired messages only from a throttled
sweep (about every 100 s).  In an event loop this QoS:

* queues its acks and sends them in one pipeline per loop turn, together
  with the next fetch (:class:`celery.transport.redis_fetch.Fetcher`);
* raises the ``unacked_index`` score of every message it still holds
  (:meth:`QoS.refresh_held`), so a live worker's messages are never seen
  as expired however long its tasks run;
* restores messages whose score is older than ``visibility_timeout``
  (:meth:`QoS.restore_expired`), one atomic script per message, so a dead
  worker's messages are back in their queues within seconds of expiring.

The layout is kombu's: hash field = delivery tag, value = JSON
``[message, exchange, routing_key]``, index score = time.  Without an event
loop every method is the stock one.
"""
from __future__ import annotations

from collections.abc import Callable
from time import time
from typing import TYPE_CHECKING, Any

from kombu.transport import redis, virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads
from redis.exceptions import LockError

from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.transport.redis_fetch import Fetcher

__all__ = ('RESTORE_SCRIPT', 'QoS')

logger = get_logger(__name__)

#: Puts one expired message back: when tag ARGV[1] is still in the index
#: (KEYS[1]) with a score at most ARGV[2], removes it from the index and the
#: hash (KEYS[2]) and RPUSHes ARGV[3] onto every list KEYS[3..] (kombu's
#: restore: the message is the next one popped).  Returns 1 when restored.
#: Both checks make it safe against a concurrent ack, a refresh by a live
#: owner and another restorer.
RESTORE_SCRIPT = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
for i = 3, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[3]) end
return 1
"""

#: Messages handled per round trip by a refresh or a restore.
BATCH = 1000

#: Seconds the restore mutex is held at most (kombu's key, a short lease).
MUTEX_LEASE = 30


class QoS(redis.QoS):
    """Redis ack emulation with batched writes, kept-alive deliveries and quick restores."""

    #: Set by the channel while it fetches through a :class:`Fetcher`.
    fetcher: Fetcher | None = None
    #: Asked before each fetch besides the window (see :meth:`set_gate`).
    gate: Callable[[], bool] | None = None
    _refreshed_at = float('-inf')

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (tag, payload) to register, (tag, None) to unregister.
        self._writes: list[tuple[str, str | None]] = []

    def set_gate(self, gate: Callable[[], bool] | None) -> None:
        """Take messages only while ``gate()`` is true too (``worker_disable_prefetch``)."""
        self.gate = gate

    def can_consume(self) -> bool:
        """Whether the prefetch window, and the gate if one is set, admit a message."""
        gate = self.gate
        return bool(super().can_consume()) and (gate is None or gate())

    def take_writes(self) -> list[tuple[str, str | None]]:
        """The pending unacked writes, handed over to the caller."""
        writes, self._writes = self._writes, []
        return writes

    def append(self, message: Any, delivery_tag: str) -> None:
        """Track a delivered message (the fetch script registered it already)."""
        fetcher = self.fetcher
        if fetcher is None:
            super().append(message, delivery_tag)
            return
        if delivery_tag in fetcher.registered:
            fetcher.registered.discard(delivery_tag)
        else:
            delivery = message.delivery_info
            self._writes.append((delivery_tag, dumps(
                [message._raw, delivery['exchange'], delivery['routing_key']])))
            fetcher.schedule_flush()
        virtual.QoS.append(self, message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        """Forget an acked message; unregister it with the loop turn's flush."""
        fetcher = self.fetcher
        if fetcher is None:
            super().ack(delivery_tag)
            return
        self._writes.append((delivery_tag, None))
        virtual.QoS.ack(self, delivery_tag)
        fetcher.dirty = True
        fetcher.schedule_flush()

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        """Reject after flushing, so a requeue finds the message registered."""
        fetcher = self.fetcher
        if fetcher is not None:
            # No fetch here: at shutdown every reserved message is rejected,
            # and a fetch would take the requeued messages straight back.
            fetcher.flush(refill=False)
            fetcher.dirty = True
        super().reject(delivery_tag, requeue=requeue)

    def restore_unacked(self, client: Any = None) -> None:
        """Flush, then put every unacked message back (shutdown, reconnect)."""
        try:
            if self.fetcher is not None:
                self.fetcher.flush(refill=False)
        finally:
            super().restore_unacked(client)

    def refresh_due(self, now: float) -> bool:
        """Whether a third of ``visibility_timeout`` passed since the last refresh."""
        if now - self._refreshed_at < self.visibility_timeout / 3:
            return False
        self._refreshed_at = now
        return True

    def held(self) -> list[str]:
        """Delivery tags of the messages this channel holds unacked."""
        acked = self._dirty
        return [tag for tag in list(self._delivered) if tag not in acked]

    def refresh_held(self) -> int:
        """Raise the index score of every held message to now (only if still indexed)."""
        tags = self.held()
        if not tags:
            return 0
        now = time()
        with self.channel.conn_or_acquire() as client:
            pipe = client.pipeline(transaction=False)
            for i in range(0, len(tags), BATCH):
                # XX: a message restored or acked meanwhile is not brought back.
                pipe.zadd(self.unacked_index_key,
                          dict.fromkeys(tags[i:i + BATCH], now), xx=True)
            pipe.execute()
        return len(tags)

    def restore_expired(self) -> int:
        """Put back every message whose index score is older than ``visibility_timeout``."""
        ceil = time() - self.visibility_timeout
        restored = 0
        with self.channel.conn_or_acquire() as client:
            expired = client.zrange(self.unacked_index_key, '-inf', ceil,
                                    byscore=True, offset=0, num=BATCH)
            if not expired:
                return 0
            lock = client.lock(self.unacked_mutex_key, timeout=MUTEX_LEASE)
            if not lock.acquire(blocking=False):
                return 0   # another worker (or a stock kombu one) is at it
            try:
                while expired:
                    restored += self._restore_batch(client, expired, ceil)
                    if len(expired) < BATCH:
                        break
                    expired = client.zrange(self.unacked_index_key, '-inf', ceil,
                                            byscore=True, offset=0, num=BATCH)
            finally:
                try:
                    lock.release()
                except LockError:
                    pass   # the lease ran out: harmless, every restore is atomic
        if restored:
            logger.info('Restored %d unacked message(s) older than the visibility '
                        'timeout (%s s)', restored, self.visibility_timeout)
        return restored

    def _restore_batch(self, client: Any, tags: list[bytes], ceil: float) -> int:
        channel = self.channel
        index_key, hash_key = self.unacked_index_key, self.unacked_key
        payloads = client.hmget(hash_key, tags)
        routes: dict[tuple[str, str], list[str]] = {}
        pipe = client.pipeline(transaction=False)
        for tag, raw in zip(tags, payloads, strict=True):
            if raw is None:
                # An index entry without its message: drop it if still expired.
                pipe.eval(RESTORE_SCRIPT, 2, index_key, hash_key, tag, ceil, '')
                continue
            message, exchange, routing_key = loads(bytes_to_str(raw))
            route = exchange, routing_key
            if route not in routes:
                routes[route] = channel.restore_queues(exchange, routing_key)
            keys = [channel.key_for(queue, channel.message_priority(message))
                    for queue in routes[route]]
            pipe.eval(RESTORE_SCRIPT, 2 + len(keys), index_key, hash_key, *keys,
                      tag, ceil, dumps(_redelivered(message)))
        return sum(1 for done in pipe.execute() if done)


def _redelivered(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` marked redelivered, as kombu marks the messages it restores."""
    try:
        message['headers']['redelivered'] = True
        message['properties']['delivery_info']['redelivered'] = True
    except (KeyError, TypeError):
        pass
    return message

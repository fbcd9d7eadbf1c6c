"""Fewer Redis round trips per task message for the event-loop consumer.

kombu's Redis transport emulates acks with an "unacked" hash and index: every
delivered message costs one ``MULTI`` (register) and every ack another
(unregister), on top of the ``BRPOP`` that fetched it.  :class:`PipelinedQoS`
queues those writes and sends them as one pipeline per event-loop turn, and
uses that same pipeline to refill the prefetch window: a Lua script pops the
waiting messages and registers them as unacked atomically, so a message is
never out of the queue without being in the unacked hash.
"""
from __future__ import annotations

from time import time
from typing import Any

from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

from celery.utils.log import get_logger

__all__ = ('PipelinedQoS', 'install')

logger = get_logger(__name__)

#: Pops up to ARGV[1] messages from KEYS[3..] (in order) and registers each in
#: the unacked index (KEYS[1]) and hash (KEYS[2]) exactly as kombu does.
#: Returns a flat list of (key index, message) pairs; the index is negative
#: (-1 - index) for an item that is not a kombu message envelope.
REFILL_SCRIPT = """
local out = {}
local wanted = tonumber(ARGV[1])
local taken = 0
for i = 3, #KEYS do
  while taken < wanted do
    local item = redis.call('RPOP', KEYS[i])
    if not item then break end
    taken = taken + 1
    local ok, envelope = pcall(cjson.decode, item)
    local info = ok and type(envelope) == 'table' and envelope['properties']
    local tag = type(info) == 'table' and info['delivery_tag']
    if type(tag) == 'string' then
      local delivery = type(info['delivery_info']) == 'table' and info['delivery_info'] or {}
      redis.call('ZADD', KEYS[1], ARGV[2], tag)
      redis.call('HSET', KEYS[2], tag, '[' .. item .. ',' ..
                 cjson.encode(delivery['exchange'] or '') .. ',' ..
                 cjson.encode(delivery['routing_key'] or '') .. ']')
      out[#out + 1] = i - 3
    else
      out[#out + 1] = 2 - i   -- not a kombu envelope: reported, not registered
    end
    out[#out + 1] = item
  end
end
return out
"""

_REGISTER, _UNREGISTER = 0, 1


class PipelinedQoS:
    """Batch a Redis channel's unacked bookkeeping and prefetch refills per loop turn."""

    def __init__(self, channel: Any, hub: Any) -> None:
        self.channel = channel
        self.hub = hub
        qos = self.qos = channel.qos
        self._writes: list[tuple[int, str, str | None]] = []
        self._armed = False
        # Tags the refill script registered already: their append is local only.
        self._registered: set[str] = set()
        # One client for every flush; it draws connections from the channel's pool.
        self._client = channel._create_client()
        self._reject = qos.reject
        self._restore_unacked = qos.restore_unacked
        qos.append = self.append
        qos.ack = self.ack
        qos.reject = self.reject
        qos.restore_unacked = self.restore_unacked

    def append(self, message: Any, delivery_tag: str) -> None:
        """Track a delivered message; register it in Redis with the next flush."""
        if delivery_tag in self._registered:
            self._registered.discard(delivery_tag)
        else:
            delivery = message.delivery_info
            self._writes.append((_REGISTER, delivery_tag, dumps(
                [message._raw, delivery['exchange'], delivery['routing_key']])))
            self._arm()
        virtual.QoS.append(self.qos, message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        """Forget an acked message; unregister it in Redis with the next flush."""
        self._writes.append((_UNREGISTER, delivery_tag, None))
        virtual.QoS.ack(self.qos, delivery_tag)
        self._arm()

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        """Reject after flushing, so a requeue finds the message registered."""
        # No refill here: at shutdown every reserved message is rejected, and
        # refilling would fetch the requeued messages straight back.
        self.flush(refill=False)
        self._reject(delivery_tag, requeue=requeue)

    def restore_unacked(self, client: Any = None) -> None:
        """Flush, then put every unacked message back (shutdown, reconnect)."""
        try:
            self.flush(refill=False)
        finally:
            self._restore_unacked(client)

    def _arm(self) -> None:
        if not self._armed:
            self._armed = True
            self.hub.call_soon(self.flush)

    def _refill_keys(self) -> tuple[list[str], list[str]]:
        channel = self.channel
        expiring = getattr(channel, '_expires', None) or {}
        # kombu refreshes the expiry of expiring queues on each read: leave
        # those to BRPOP.
        active = [queue for queue in channel.active_queues if queue not in expiring]
        keys, queues = [], []
        # Highest priority first across every queue, in BRPOP's order.
        for pri in channel.priority_steps:
            for queue in active:
                keys.append(channel._q_for_pri(queue, pri))
                queues.append(queue)
        return keys, queues

    def _room(self) -> int:
        room = self.qos.can_consume_max_estimate()
        if not room:
            return 0   # window full, or no prefetch limit (leave it to BRPOP)
        # A BRPOP in flight may still deliver one message.
        return room - 1 if self.channel._in_poll else room

    def flush(self, refill: bool = True) -> None:
        """Send the queued writes, and pop more messages if the window has room."""
        self._armed = False
        writes, self._writes = self._writes, []
        room = self._room() if refill else 0
        keys, queues = self._refill_keys() if room else ((), ())
        if not writes and not keys:
            return
        qos = self.qos
        index_key, hash_key = qos.unacked_index_key, qos.unacked_key
        pipe = self._client.pipeline()
        now = time()
        for op, tag, payload in writes:
            if op == _REGISTER:
                pipe.zadd(index_key, {tag: now}).hset(hash_key, tag, payload)
            else:
                pipe.zrem(index_key, tag).hdel(hash_key, tag)
        if keys:
            # EVAL rather than a registered script: redis-py checks SCRIPT
            # EXISTS before every pipeline holding one, a round trip per flush.
            pipe.eval(REFILL_SCRIPT, 2 + len(keys), index_key, hash_key, *keys, room, now)
        replies = pipe.execute()
        if keys:
            self._deliver(replies[-1], queues)

    def _deliver(self, popped: list[Any], queues: list[str]) -> None:
        deliver = self.channel.connection._deliver
        for i in range(0, len(popped), 2):
            index, raw = int(popped[i]), popped[i + 1]
            if index < 0:
                _report_garbage(queues[-1 - index], raw)
                continue
            payload = loads(bytes_to_str(raw))
            self._registered.add(payload['properties']['delivery_tag'])
            deliver(payload, queues[index])


def _report_garbage(queue: str, raw: bytes) -> None:
    logger.error('Dropped an item of Redis list %r that is not a kombu message '
                 '(expected a JSON envelope with properties.delivery_tag): %r. '
                 'Only publish task messages to the queues this worker consumes.',
                 queue, raw[:256])


def install(channel: Any, hub: Any) -> PipelinedQoS | None:
    """Pipeline ``channel``'s QoS writes in ``hub`` when it is a plain Redis channel."""
    if getattr(channel, 'global_keyprefix', None) or \
            not hasattr(channel.qos, 'unacked_index_key'):
        return None
    return PipelinedQoS(channel, hub)

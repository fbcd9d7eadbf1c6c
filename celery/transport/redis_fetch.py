"""Atomic fetches for the owned Redis channel: a message is never out of its queue and unacked.

Extends nothing upstream: :class:`Fetcher` is driven by
:class:`celery.transport.redis.Channel` (a :class:`kombu.transport.redis.Channel`
subclass) when the channel runs in an event loop.  Stock kombu pops a
message with ``BRPOP`` and registers it in the ``unacked`` hash/index with a
second command once it has arrived: a worker killed in between loses the
message.  Here a Lua script pops and registers in one step (kombu's layout
exactly: hash field = delivery tag, value = ``[message, exchange,
routing_key]``, index score = time), and the channel waits for new messages
with ``BLMOVE key key RIGHT RIGHT``, which blocks like ``BRPOP`` but leaves
the message where it is.  One waiting connection per queue key (queues x
priority steps), since ``BLMOVE`` watches one key.
"""
from __future__ import annotations

import os
from time import monotonic, time
from typing import TYPE_CHECKING, Any

from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.transport.redis import Channel

__all__ = ('REFILL_SCRIPT', 'Fetcher')

logger = get_logger(__name__)

#: Pops up to ARGV[1] messages from KEYS[3..] (in order), registering each in
#: the unacked index (KEYS[1], score ARGV[2]) and hash (KEYS[2]) as kombu does.
#: Returns a flat list of (key index, message) pairs; the index is negative
#: (-1 - index) for an item that is not a kombu message envelope.
REFILL_SCRIPT = """
local out = {}
local wanted = tonumber(ARGV[1])
local taken = 0
for i = 3, #KEYS do
  while taken < wanted do
    -- Peek, register, then pop: a write refused (out of memory) stops the
    -- script with the message still in its queue.
    local item = redis.call('LINDEX', KEYS[i], -1)
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
    redis.call('RPOP', KEYS[i])
    out[#out + 1] = item
  end
end
return out
"""

#: Seconds a wait blocks on the server before it replies empty and is re-armed.
WAIT_TIMEOUT = 5.0


class Fetcher:
    """Fill one channel's prefetch window atomically; wake up on non-destructive waits."""

    def __init__(self, channel: Channel, hub: Any) -> None:
        self.channel = channel
        self.hub = hub
        #: Fetch on the next flush (the window may have room, or messages arrived).
        self.dirty = True
        #: The queues were empty at the last fetch: keep the waits armed.
        self.waiting = False
        #: Delivery tags the script registered: their ``QoS.append`` is local only.
        self.registered: set[str] = set()
        self._armed: dict[str, tuple[Any, float]] = {}   # key -> (connection, armed at)
        self._broken: set[str] = set()
        self._keys: tuple[list[str], list[str]] | None = None
        self._flush_pending = False
        self._wait_pool: Any = None
        self._nudge_fds: tuple[int, int] | None = None

    # -- the window ---------------------------------------------------------

    def room(self) -> int:
        """How many messages the prefetch window takes now."""
        qos = self.channel.qos
        if not qos.can_consume():
            return 0
        room = qos.can_consume_max_estimate() or 0
        # A per-instance gate (worker_disable_prefetch) admits one at a time.
        return min(room, 1) if self.gated else room

    @property
    def gated(self) -> bool:
        """Whether a gate besides the window admits messages (one at a time then)."""
        qos = self.channel.qos
        # A gate set with QoS.set_gate, or a can_consume replaced on the instance.
        return getattr(qos, 'gate', None) is not None or 'can_consume' in vars(qos)

    def schedule_flush(self) -> None:
        """Flush once at the end of this event-loop turn."""
        if not self._flush_pending:
            self._flush_pending = True
            self.hub.call_soon(self.flush)

    def on_poll_start(self) -> None:
        """Each loop turn: fetch if something changed, keep the waits armed."""
        if self.dirty:
            self.flush()
        elif self.waiting and len(self._armed) + len(self._broken) < len(self.keys()[0]):
            self.arm()

    def flush(self, refill: bool = True) -> None:
        """Send the channel's pending unacked writes, and fetch if the window has room."""
        self._flush_pending = False
        qos = self.channel.qos
        writes = qos.take_writes()
        room = self.room() if refill and self.dirty else 0
        if room:
            self.dirty = False
        keys, queues = self.fetch_order() if room else ([], [])
        if not writes and not keys:
            return
        pipe = self.channel.client_for_flush().pipeline(transaction=False)
        index_key, hash_key = qos.unacked_index_key, qos.unacked_key
        now = time()
        for tag, payload in writes:
            if payload is None:
                pipe.zrem(index_key, tag).hdel(hash_key, tag)
            else:
                pipe.zadd(index_key, {tag: now}).hset(hash_key, tag, payload)
        if keys:
            # EVAL rather than a registered script: redis-py checks SCRIPT
            # EXISTS before every pipeline holding one, a round trip per flush.
            pipe.eval(REFILL_SCRIPT, 2 + len(keys), index_key, hash_key, *keys, room, now)
        try:
            replies = pipe.execute()
        except self.channel.ResponseError as exc:
            # Such as a server out of memory: nothing was taken that is not
            # registered.  The maintenance timer's next fetch tries again.
            logger.error('Redis refused the fetch or unacked writes: %s', exc)
            self.waiting = False
            return
        if keys:
            popped = replies[-1]
            if popped:
                self._deliver(popped, queues)
                self._nudge()
                # A gate admitted one: ask it again for the next.
                self.dirty = self.dirty or self.gated
            self.waiting = len(popped) // 2 < room
            if self.waiting:
                self.arm()

    def keys(self) -> tuple[list[str], list[str]]:
        """Every queue key to wait on, and its queue."""
        if self._keys is None:
            self._keys = self._keys_for(self.channel.active_queues)
        return self._keys

    def fetch_order(self) -> tuple[list[str], list[str]]:
        """The keys to fetch from now: highest priority first, queues in the channel's cycle."""
        return self._keys_for(self.channel.queue_order())

    def _keys_for(self, queues: list[str]) -> tuple[list[str], list[str]]:
        channel = self.channel
        keys, owners = [], []
        for pri in channel.priority_steps:
            for queue in queues:
                keys.append(channel.key_for(queue, pri))
                owners.append(queue)
        return keys, owners

    def queues_changed(self) -> None:
        """The consumed queues changed: drop the waits of the old set."""
        self._keys = None
        self._broken.clear()
        self.disarm()
        self.dirty = True

    def _deliver(self, popped: list[Any], queues: list[str]) -> None:
        deliver = self.channel.deliver
        for i in range(0, len(popped), 2):
            index, raw = int(popped[i]), popped[i + 1]
            if index < 0:
                _report_garbage(queues[-1 - index], raw)
                continue
            payload = loads(bytes_to_str(raw))
            self.registered.add(payload['properties']['delivery_tag'])
            deliver(payload, queues[index])
        # As after a BRPOP: the queue served last goes to the end of the cycle.
        last = int(popped[-2])
        self.channel.rotate_queue(queues[last if last >= 0 else -1 - last])

    def _nudge(self) -> None:
        # Deliveries change the consumer's state (its prefetch count, say),
        # which it acts on once the loop's poll returns: make that poll
        # return now rather than at the next timer (up to a second later).
        if self._nudge_fds is None:
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            os.set_blocking(write_fd, False)
            self._nudge_fds = read_fd, write_fd
            self.hub.add_reader(read_fd, self._on_nudge, read_fd)
        try:
            os.write(self._nudge_fds[1], b'.')
        except BlockingIOError:
            pass   # a nudge is pending already

    @staticmethod
    def _on_nudge(read_fd: int) -> None:
        try:
            os.read(read_fd, 4096)
        except BlockingIOError:
            pass

    # -- waiting ------------------------------------------------------------

    def arm(self) -> None:
        """Block on every queue key not watched yet (``BLMOVE key key``, nothing moves)."""
        hub, armed = self.hub, self._armed
        for key in self.keys()[0]:
            if key in armed or key in self._broken:
                continue
            connection = self._connection()
            connection.send_command('BLMOVE', key, key, 'RIGHT', 'RIGHT', WAIT_TIMEOUT)
            armed[key] = connection, monotonic()
            hub.add_reader(connection._sock, self._on_wait_reply, key)

    def _on_wait_reply(self, key: str) -> None:
        connection, _ = self._armed.pop(key)
        self.hub.remove_reader(connection._sock)
        try:
            reply = connection.read_response()
        except self.channel.ResponseError as exc:
            # Such as a key of another type: waiting on it again would spin.
            self._broken.add(key)
            self._release(connection)
            logger.warning('Cannot wait on Redis key %r (%s): polled only', key, exc)
            return
        except self.channel.connection_errors:
            self._drop(connection)
            self.dirty = True
            raise
        self._release(connection)
        if reply is not None:
            # A message arrived: fetch it now rather than on the next loop turn.
            self.dirty = True
            self.flush()

    def check_waits(self, grace: float) -> None:
        """Drop waits that got no reply long after their server timeout (half-open)."""
        now = monotonic()
        for key, (connection, since) in list(self._armed.items()):
            if now - since > WAIT_TIMEOUT + grace:
                logger.warning('Redis wait on %r got no reply for %.0f s; reconnecting',
                               key, now - since)
                del self._armed[key]
                self.hub.remove_reader(connection._sock)
                self._drop(connection)

    def disarm(self) -> None:
        """Stop every wait (its connection is closed: a blocked command cannot be taken back)."""
        for connection, _ in self._armed.values():
            if connection._sock is not None:
                self.hub.remove_reader(connection._sock)
            self._drop(connection)
        self._armed.clear()

    def close(self) -> None:
        """Stop waiting and close the waiting connections."""
        self.disarm()
        if self._nudge_fds is not None:
            self.hub.remove_reader(self._nudge_fds[0])
            for fd in self._nudge_fds:
                os.close(fd)
            self._nudge_fds = None
        if self._wait_pool is not None:
            self._wait_pool.disconnect()
            self._wait_pool = None

    def _connection(self) -> Any:
        if self._wait_pool is None:
            self._wait_pool = self.channel.new_pool()
        return self._wait_pool.get_connection()

    def _release(self, connection: Any) -> None:
        self._wait_pool.release(connection)

    def _drop(self, connection: Any) -> None:
        connection.disconnect()
        if self._wait_pool is not None:
            self._wait_pool.release(connection)


def _report_garbage(queue: str, raw: bytes) -> None:
    logger.error('Dropped an item of Redis list %r that is not a kombu message '
                 '(expected a JSON envelope with properties.delivery_tag): %r. '
                 'Only publish task messages to the queues this worker consumes.',
                 queue, raw[:256])


"""The result consumer's pub/sub connection: fewer writes and fewer layers per message.

:class:`ResultPubSub` extends redis-py's public :class:`redis.client.PubSub`
(made directly on the client's pool, as ``Redis.pubsub()`` does) for the
Redis result consumer (:mod:`celery.backends.redis_consumer`), which calls
``get()`` back to back:

- :meth:`ResultPubSub.resubscribe` sends the ``UNSUBSCRIBE`` of the previous
  results' channels and the ``SUBSCRIBE`` of the next one in one write (one
  system call here, one read and one reply write in the server), keeping the
  bookkeeping (``channels``, ``pending_unsubscribe_channels``,
  ``subscribed_event``) exactly as :meth:`~redis.client.PubSub.unsubscribe`
  then :meth:`~redis.client.PubSub.subscribe` would;
- :meth:`ResultPubSub.get_message` reads the next reply straight from the
  connection (``can_read``, ``read_response``, then the stock
  ``handle_message``) when nothing needs PubSub's extra layers: no health
  check interval, no push handler.  PubSub's own retry layer (reconnect and
  subscribe again in place) is skipped there: a lost connection is raised to
  the consumer, which reconnects and also reads the states published while
  it was away (the retry layer cannot know to).

Commands are packed by hand only where redis-py would encode them the same
way (UTF-8, ``strict``); the stock methods run otherwise.
"""
from __future__ import annotations

from typing import Any

from redis.client import PubSub

from celery.transport.redis_publish import _encodes_as_utf8, pack_command

__all__ = ('ResultPubSub',)


class ResultPubSub(PubSub):
    """redis-py's PubSub with a combined UNSUBSCRIBE + SUBSCRIBE and a lean read."""

    def resubscribe(self, unsubscribe: list[bytes], subscribe: list[bytes]) -> None:
        """UNSUBSCRIBE from ``unsubscribe`` and SUBSCRIBE to ``subscribe`` in one write."""
        connection = self.connection
        if (not unsubscribe or not subscribe or connection is None
                or not _encodes_as_utf8(connection)):
            # The stock path (it also opens the connection on first use).
            if unsubscribe:
                self.unsubscribe(*unsubscribe)  # type: ignore[no-untyped-call]
            if subscribe:
                self.subscribe(*subscribe)
            return
        # What unsubscribe() notes before sending, then what subscribe() notes after.
        self.pending_unsubscribe_channels.update(self._names(unsubscribe))
        packed = b''.join(pack_command('UNSUBSCRIBE', *unsubscribe)
                          + pack_command('SUBSCRIBE', *subscribe))
        connection.send_packed_command([packed], check_health=not self.subscribed)
        channels = self._names(subscribe)
        self.channels.update(channels)
        if not self.subscribed:
            self.subscribed_event.set()
            self.health_check_response_counter = 0
        self.pending_unsubscribe_channels.difference_update(channels)

    def _names(self, channels: list[bytes]) -> dict[Any, None]:
        # Channel names as PubSub keys them (bytes, or str with decode_responses).
        encoder = self.encoder
        if encoder is None:   # PubSub always sets one
            return dict.fromkeys(channels)
        return {encoder.decode(encoder.encode(channel)): None for channel in channels}

    def get_message(self, ignore_subscribe_messages: bool = False,
                    timeout: float = 0.0) -> dict[str, Any] | None:
        """The next message, or None if none came within ``timeout`` (see the module's header)."""
        connection = self.connection
        # (A None timeout blocks: the stock path.)
        if (connection is None or timeout is None or not self.subscribed
                or connection.health_check_interval or self.push_handler_func is not None):
            message: dict[str, Any] | None = super().get_message(
                ignore_subscribe_messages, timeout)
            return message
        if not connection.can_read(timeout=timeout):
            return None
        response = connection.read_response(disconnect_on_error=False, push_request=True)
        handled: dict[str, Any] | None = self.handle_message(response, ignore_subscribe_messages)
        return handled

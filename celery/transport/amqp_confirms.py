"""Publisher confirms for a batch of publishes: one wait for the broker's acks of them all.

With publisher confirms (``confirm_publish``) py-amqp waits for RabbitMQ's
``basic.ack`` after every ``basic.publish``: a round trip per message.
RabbitMQ numbers the publishes of a confirm-mode channel 1, 2, 3... from its
``confirm.select`` and acks (or nacks) them one at a time or several at once
(``multiple``), so a batch can write all its messages and then wait once
until every delivery tag it used is settled.  :class:`ConfirmTracker` keeps
that account for :class:`celery.transport.pyamqp.ConfirmPublishBatch`.

Extends py-amqp through its public seams only: listeners added to the
channel's ``events['basic_ack']`` and ``events['basic_nack']`` sets (the way
kombu subscribes to ``basic.return``), and ``Channel.wait`` for the reading,
so a returned message, a channel or connection closed while waiting and a
read timeout surface exactly as in py-amqp's one-by-one confirm wait.  A
nacked message raises py-amqp's :exc:`amqp.exceptions.MessageNacked`.
"""
from __future__ import annotations

from time import monotonic
from typing import Any

from amqp import spec
from amqp.exceptions import MessageNacked

__all__ = ('ConfirmTracker',)

#: The methods settling a publish, as py-amqp's confirm wait lists them.
_CONFIRMS = [spec.Basic.Ack, spec.Basic.Nack]


class ConfirmTracker:
    """Which delivery tags of a confirm-mode channel the broker has settled (acked or nacked)."""

    def __init__(self, channel: Any, settled_through: int) -> None:
        self.channel = channel
        #: Every tag up to here is settled (or was published before the tracker).
        self.floor = settled_through
        #: Tags above the floor settled one by one, out of order.
        self.above: set[int] = set()
        #: Tags the broker nacked, not reported yet.
        self.nacked: list[int] = []
        # Listeners, not Channel.wait's one-shot callback: acks arriving while
        # something else reads (a declare's reply inside the batch) count too.
        channel.events['basic_ack'].add(self.on_ack)
        channel.events['basic_nack'].add(self.on_nack)

    def on_ack(self, delivery_tag: int, multiple: bool) -> None:
        """``basic.ack``: the tag (and with ``multiple`` every tag below it) is settled."""
        self.settle(delivery_tag, multiple)

    def on_nack(self, delivery_tag: int, multiple: bool) -> None:
        """``basic.nack``: as an ack, remembering the tags for :meth:`wait` to raise."""
        if delivery_tag > self.floor:
            if multiple:
                self.nacked.extend(tag for tag in range(self.floor + 1, delivery_tag + 1)
                                   if tag not in self.above)
            elif delivery_tag not in self.above:
                self.nacked.append(delivery_tag)
        self.settle(delivery_tag, multiple)

    def settle(self, delivery_tag: int, multiple: bool) -> None:
        """Mark ``delivery_tag`` (and all below it when ``multiple``) settled."""
        if delivery_tag <= self.floor:
            return   # a late confirm of an earlier publish (e.g. after a timed-out wait)
        above = self.above
        if multiple:
            self.floor = delivery_tag
            if above:
                self.above = above = {tag for tag in above if tag > delivery_tag}
        else:
            above.add(delivery_tag)
        floor = self.floor
        while floor + 1 in above:
            floor += 1
            above.discard(floor)
        self.floor = floor

    def wait(self, last: int, timeout: float | None = None) -> None:
        """Read until every tag up to ``last`` is settled; raise if the broker nacked one.

        ``timeout`` bounds the whole wait (py-amqp's ``confirm_timeout``) and
        raises :exc:`TimeoutError` (``socket.timeout``) as py-amqp's wait does.
        """
        deadline = None if timeout is None else monotonic() + timeout
        channel = self.channel
        while self.floor < last:
            remaining = None
            if deadline is not None:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise TimeoutError(f'timed out waiting for the confirms of '
                                         f'{last - self.floor - len(self.above)} messages')
            channel.wait(_CONFIRMS, timeout=remaining)
        nacked, self.nacked = self.nacked, []
        if nacked:
            shown = ', '.join(str(tag) for tag in nacked[:10])
            more = ', ...' if len(nacked) > 10 else ''
            raise MessageNacked(
                f'the broker nacked {len(nacked)} published message(s) '
                f'(delivery tags {shown}{more} on channel {channel.channel_id})')

    def close(self) -> None:
        """Stop listening to the channel's confirms."""
        events = self.channel.events
        events['basic_ack'].discard(self.on_ack)
        events['basic_nack'].discard(self.on_nack)

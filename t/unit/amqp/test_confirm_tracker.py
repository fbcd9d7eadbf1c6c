"""celery.transport.amqp_confirms: the account of which publishes the broker has settled."""
from __future__ import annotations

from collections import defaultdict

import pytest
from amqp.exceptions import MessageNacked

from celery.transport.amqp_confirms import ConfirmTracker


class ScriptedChannel:
    """A channel whose reads deliver the next scripted ``basic.ack``/``basic.nack``."""

    channel_id = 1

    def __init__(self, *confirms: tuple[str, int, bool]) -> None:
        self.events: defaultdict[str, set] = defaultdict(set)
        self.confirms = list(confirms)
        self.reads = 0
        self.timeouts: list[float | None] = []

    def wait(self, methods: list, timeout: float | None = None) -> None:
        self.reads += 1
        self.timeouts.append(timeout)
        if not self.confirms:
            raise TimeoutError('timed out')
        kind, tag, multiple = self.confirms.pop(0)
        for listener in list(self.events[f'basic_{kind}']):
            listener(tag, multiple)


def test_acks_one_by_one_out_of_order():
    channel = ScriptedChannel(('ack', 13, False), ('ack', 11, False), ('ack', 12, False))
    tracker = ConfirmTracker(channel, 10)
    tracker.wait(13)
    assert tracker.floor == 13 and not tracker.above and channel.reads == 3


def test_multiple_ack_settles_every_tag_below():
    channel = ScriptedChannel(('ack', 12, False), ('ack', 14, True), ('ack', 15, False))
    tracker = ConfirmTracker(channel, 10)
    tracker.wait(15)
    assert tracker.floor == 15 and not tracker.above


def test_confirms_of_earlier_publishes_are_ignored():
    # Late acks of publishes before the batch (e.g. after a timed-out wait).
    channel = ScriptedChannel(('ack', 3, False), ('nack', 7, False), ('ack', 8, True))
    tracker = ConfirmTracker(channel, 7)
    tracker.wait(8)
    assert tracker.floor == 8


def test_wait_returns_at_once_when_all_are_settled():
    channel = ScriptedChannel()
    ConfirmTracker(channel, 10).wait(10)
    assert channel.reads == 0


def test_nack_raises_after_every_tag_is_settled():
    channel = ScriptedChannel(('nack', 12, False), ('ack', 11, False), ('ack', 13, False))
    tracker = ConfirmTracker(channel, 10)
    with pytest.raises(MessageNacked, match=r'nacked 1 published message\(s\) \(delivery tags 12 '):
        tracker.wait(13)
    assert channel.reads == 3 and tracker.floor == 13
    assert not tracker.nacked   # reported once


def test_multiple_nack_names_the_unsettled_tags_only():
    channel = ScriptedChannel(('ack', 12, False), ('nack', 14, True))
    tracker = ConfirmTracker(channel, 10)
    with pytest.raises(MessageNacked, match='nacked 3 .*delivery tags 11, 13, 14 '):
        tracker.wait(14)


def test_many_nacked_tags_are_shortened():
    channel = ScriptedChannel(('nack', 30, True))
    shortened = r'nacked 30 .*tags 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, \.\.\. on'
    with pytest.raises(MessageNacked, match=shortened):
        ConfirmTracker(channel, 0).wait(30)


def test_timeout_bounds_the_whole_wait():
    channel = ScriptedChannel(('ack', 1, False), ('ack', 2, False))
    ConfirmTracker(channel, 0).wait(2, timeout=5)
    # Each read gets what is left of the one deadline.
    first, second = channel.timeouts
    assert 0 < second <= first <= 5
    with pytest.raises(TimeoutError, match='confirms of 2 messages'):
        ConfirmTracker(ScriptedChannel(), 0).wait(2, timeout=-1)


def test_no_timeout_waits_as_long_as_it_takes():
    channel = ScriptedChannel(('ack', 1, False))
    ConfirmTracker(channel, 0).wait(1)
    assert channel.timeouts == [None]


def test_close_stops_listening():
    channel = ScriptedChannel()
    tracker = ConfirmTracker(channel, 0)
    assert channel.events['basic_ack'] and channel.events['basic_nack']
    tracker.close()
    assert not channel.events['basic_ack'] and not channel.events['basic_nack']

"""``EventReceiver.event_from_message`` takes its helpers as parameters, as in Celery."""
from __future__ import annotations

import pytest
from kombu import Connection

from celery.events.receiver import EventReceiver


@pytest.fixture
def receiver(app):
    with Connection('memory://') as connection:
        yield EventReceiver(connection.default_channel, app=app)


def test_timestamp_fields_and_adjustment_are_parameters(receiver):
    seen = []

    def adjust(timestamp, offset):
        seen.append((timestamp, offset))
        return 42.0
    body = {'type': 'worker-online', 'clock': 3, 'utcoffset': 2, 'timestamp': 100.0}
    type_, event = receiver.event_from_message(
        body, now=lambda: 7.0, tzfields=lambda b: (b['utcoffset'], b['timestamp']),
        adjust_timestamp=adjust)
    assert type_ == 'worker-online'
    assert seen == [(100.0, 2)]
    assert event['timestamp'] == 42.0 and event['local_received'] == 7.0


def test_client_clock_skew_is_a_parameter(receiver):
    before = receiver.clock.value
    _, event = receiver.event_from_message({'type': 'task-sent'}, localize=False,
                                           CLIENT_CLOCK_SKEW=-5)
    assert event['clock'] == (before or 1) - 5

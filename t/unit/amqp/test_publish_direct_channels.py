"""The direct publish path needs no broker library the install does not have."""
from __future__ import annotations

import sys

import pytest

from celery.transport import publish_direct


@pytest.fixture
def fresh_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish_direct, '_CHANNELS', None)


def test_a_missing_broker_library_leaves_its_channel_out(fresh_channels, monkeypatch) -> None:
    # As without the redis extra (the demo's install): importing the owned
    # Redis transport fails, and publishing on another transport goes on.
    monkeypatch.setitem(sys.modules, 'celery.transport.redis', None)
    channels = publish_direct._owned_channels()
    from celery.transport import pyamqp
    assert channels == (pyamqp.Channel,)


def test_both_owned_channels_when_installed(fresh_channels) -> None:
    from celery.transport import pyamqp, redis
    assert publish_direct._owned_channels() == (pyamqp.Channel, redis.Channel)

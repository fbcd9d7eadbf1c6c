"""The event envelope, the events exchange and event groups."""
from __future__ import annotations

import time
from collections.abc import Callable
from copy import copy
from typing import TYPE_CHECKING, Any

from kombu import Exchange

if TYPE_CHECKING:
    from kombu import Connection

__all__ = ('Event', 'event_exchange', 'get_exchange', 'group_from', 'EVENT_EXCHANGE_NAME')

#: Default name of the events exchange (:setting:`event_exchange`).
EVENT_EXCHANGE_NAME = 'celeryev'

#: The events exchange: topic, transient.
event_exchange = Exchange(EVENT_EXCHANGE_NAME, type='topic')

#: Transports that have no topic routing: events fan out to every receiver.
FANOUT_TRANSPORTS = frozenset({'redis', 'gcpubsub'})


def Event(type: str, _fields: dict[str, Any] | None = None,
          __dict__: type = dict, __now__: Callable[[], float] = time.time,
          **fields: Any) -> dict[str, Any]:
    """Create an event: a dict with ``type`` and ``timestamp`` (unless given)."""
    event = __dict__(_fields, **fields) if _fields else fields
    if 'timestamp' not in event:
        event['timestamp'] = __now__()
    event['type'] = type
    return event


def group_from(type: str) -> str:
    """The group of an event type: the part before the first dash (``task``)."""
    return type.split('-', 1)[0]


def get_exchange(conn: Connection, name: str = EVENT_EXCHANGE_NAME) -> Exchange:
    """The events exchange for the transport of ``conn`` (fanout on redis)."""
    exchange = copy(event_exchange)
    if conn.transport.driver_type in FANOUT_TRANSPORTS:
        exchange.type = 'fanout'
    if name != exchange.name:
        exchange.name = name
    return exchange

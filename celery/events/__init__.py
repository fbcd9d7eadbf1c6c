"""Monitoring events: send them, receive them, model the cluster from them."""
from __future__ import annotations

from celery.events.dispatcher import EventDispatcher
from celery.events.event import Event, event_exchange, get_exchange, group_from
from celery.events.receiver import EventReceiver

__all__ = ('Event', 'EventDispatcher', 'EventReceiver', 'event_exchange', 'get_exchange',
           'group_from')

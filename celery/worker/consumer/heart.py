"""Consumer step: periodic worker heartbeats (``worker-heartbeat`` events)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.worker.consumer.events import Events
from celery.worker.heartbeat import Heart as _Heart

if TYPE_CHECKING:
    from celery.worker.consumer.consumer import Consumer

__all__ = ('Heart',)


class Heart(bootsteps.StartStopStep):
    """Send ``worker-online``, then a heartbeat every interval, then ``worker-offline``."""

    requires = (Events,)

    def __init__(self, c: Consumer, without_heartbeat: bool = False,
                 heartbeat_interval: float | None = None, **kwargs: Any) -> None:
        self.enabled = not without_heartbeat
        self.heartbeat_interval = heartbeat_interval
        c.heart = None
        super().__init__(c, **kwargs)

    def start(self, c: Consumer) -> None:
        if c.event_dispatcher is None or c.timer is None:
            return
        c.heart = _Heart(c.timer, c.event_dispatcher, self.heartbeat_interval)
        c.heart.start()

    def stop(self, c: Consumer) -> None:
        heart, c.heart = c.heart, None
        if heart:
            heart.stop()

    shutdown = stop

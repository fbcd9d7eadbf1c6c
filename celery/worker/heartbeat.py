"""Periodic ``worker-heartbeat`` events, plus ``worker-online``/``worker-offline``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from celery.signals import heartbeat_sent
from celery.utils.sysinfo import load_average
from celery.worker.state import SOFTWARE_INFO, active_requests, all_total_count

if TYPE_CHECKING:
    from kombu.asynchronous.timer import Entry

    from celery.events.dispatcher import EventDispatcher
    from celery.worker._types import WorkerTimer

__all__ = ('Heart',)


class Heart:
    """Send worker heartbeats every ``interval`` seconds on ``timer``.

    Arguments:
        timer: the worker timer (``call_repeatedly``/``cancel``).
        eventer: the worker's event dispatcher.
        interval: seconds between heartbeats (default 2.0).
    """

    def __init__(self, timer: WorkerTimer, eventer: EventDispatcher,
                 interval: float | None = None) -> None:
        self.timer = timer
        self.eventer = eventer
        self.interval = float(interval or 2.0)
        self.tref: Entry | None = None
        # Set by the dispatcher's __init__ (None only on the class).
        assert eventer.on_enabled is not None and eventer.on_disabled is not None
        eventer.on_enabled.add(self.start)
        eventer.on_disabled.add(self.stop)

    def _send(self, event: str, retry: bool = True) -> None:
        if heartbeat_sent.receivers:
            heartbeat_sent.send(sender=self)
        self.eventer.send(event, freq=self.interval, active=len(active_requests),
                          processed=all_total_count[0], loadavg=load_average(),
                          retry=retry, **SOFTWARE_INFO)

    def start(self) -> None:
        """Send ``worker-online`` and schedule heartbeats."""
        if self.eventer.enabled and self.tref is None:
            self._send('worker-online')
            self.tref = self.timer.call_repeatedly(
                self.interval, self._send, ('worker-heartbeat',))

    def stop(self) -> None:
        """Cancel heartbeats and send ``worker-offline``."""
        if self.tref is not None:
            self.timer.cancel(self.tref)
            self.tref = None
        if self.eventer.enabled:
            self._send('worker-offline', retry=False)

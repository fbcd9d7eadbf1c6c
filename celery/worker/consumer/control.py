"""Consumer step: the remote control mailbox (``<nodename>.celery.pidbox``)."""
from __future__ import annotations

from typing import Any

from celery import bootsteps
from celery.worker import pidbox
from celery.worker.consumer.tasks import Tasks

__all__ = ('Control',)


class Control(bootsteps.StartStopStep):
    """Answer remote control commands (off with ``worker_enable_remote_control``)."""

    requires = (Tasks,)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        self.enabled = bool(c.app.conf.worker_enable_remote_control)
        self.is_green = getattr(c.pool, 'is_green', False)
        self.box = (pidbox.gPidbox if self.is_green else pidbox.Pidbox)(c)
        super().__init__(c, **kwargs)

    def start(self, c: Any) -> None:
        self.box.start(c)

    def stop(self, c: Any) -> None:
        self.box.stop(c)

    def shutdown(self, c: Any) -> None:
        self.box.shutdown(c)

    def info(self, c: Any) -> dict[str, Any]:
        return {}

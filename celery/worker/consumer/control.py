"""Consumer step: the remote control mailbox (``<nodename>.celery.pidbox``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.worker import pidbox
from celery.worker.consumer.tasks import Tasks

if TYPE_CHECKING:
    from celery.worker.consumer.consumer import Consumer

__all__ = ('Control',)


class Control(bootsteps.StartStopStep):
    """Answer remote control commands (off with ``worker_enable_remote_control``)."""

    requires = (Tasks,)

    def __init__(self, c: Consumer, **kwargs: Any) -> None:
        self.enabled = bool(c.app.conf.worker_enable_remote_control)
        self.is_green = getattr(c.pool, 'is_green', False)
        self.box = (pidbox.gPidbox if self.is_green else pidbox.Pidbox)(c)
        super().__init__(c, **kwargs)

    def start(self, c: Consumer) -> None:
        self.box.start(c)

    def stop(self, c: Consumer) -> None:
        self.box.stop(c)

    def shutdown(self, c: Consumer) -> None:
        self.box.shutdown(c)

    def info(self, c: Consumer) -> dict[str, object]:
        return {}

"""Consumer step: the event dispatcher used for task and worker events."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.utils.log import get_logger
from celery.worker.consumer.connection import Connection

if TYPE_CHECKING:
    from collections.abc import Callable

    from celery.events.dispatcher import EventDispatcher
    from celery.worker.consumer.consumer import Consumer

__all__ = ('Events',)

logger = get_logger(__name__)

#: Most task events published as one message.  The buffer is also flushed
#: 0.1 s after its first event, so a busy worker sends ten messages a
#: second instead of one per couple of dozen events; each publish is a
#: system call that wakes the broker.
TASK_EVENT_BATCH_LIMIT = 500


class Events(bootsteps.StartStopStep):
    """Create ``c.event_dispatcher``: worker events always, task events with ``-E``."""

    requires = (Connection,)

    def __init__(self, c: Consumer, task_events: bool = True, without_heartbeat: bool = False,
                 without_gossip: bool = False, **kwargs: Any) -> None:
        self.groups = None if task_events else ['worker']
        self.send_events = task_events or not without_gossip or not without_heartbeat
        self.enabled = self.send_events
        c.event_dispatcher = None
        super().__init__(c, **kwargs)

    def start(self, c: Consumer) -> None:
        # A reconnect makes a new dispatcher: keep events the old one could not send.
        previous = self._close(c)
        dispatcher = c.event_dispatcher = c.app.events.Dispatcher(
            c.connection_for_write(), hostname=c.hostname, enabled=self.send_events,
            groups=self.groups,
            # Task events are batched: flushed when the batch is full or
            # within 0.1 s (see Consumer.on_send_event_buffered).
            buffer_group=['task'] if c.hub else None, buffer_limit=TASK_EVENT_BATCH_LIMIT,
            on_send_buffered=c.on_send_event_buffered if c.hub else None,
        )
        if previous is not None:
            dispatcher.extend_buffer(previous)
            dispatcher.flush()

    def stop(self, c: Consumer) -> None:
        pass

    def _close(self, c: Consumer) -> EventDispatcher | None:
        dispatcher = c.event_dispatcher
        if dispatcher is None:
            return None
        # Remember groups changed by enable_events/disable_events.
        self.groups = list(dispatcher.groups) or None
        connection = dispatcher.connection
        _ignore_errors(dispatcher.close)
        if connection is not None:
            _ignore_errors(connection.close)
        return dispatcher

    def shutdown(self, c: Consumer) -> None:
        if c.event_dispatcher is not None:
            _ignore_errors(c.event_dispatcher.flush)
        self._close(c)
        c.event_dispatcher = None


def _ignore_errors(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        logger.debug('Error closing the event dispatcher', exc_info=True)

"""``app.events``: the event classes bound to an app."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

__all__ = ('Events',)


class Events:
    """Factory of event dispatchers, receivers and cluster state for one app."""

    receiver_cls = 'celery.events.receiver:EventReceiver'
    dispatcher_cls = 'celery.events.dispatcher:EventDispatcher'
    state_cls = 'celery.events.state:State'

    def __init__(self, app: Any = None) -> None:
        self.app = app

    @cached_property
    def Receiver(self) -> type:
        """:class:`~celery.events.EventReceiver` bound to the app."""
        return self.app.subclass_with_self(self.receiver_cls, reverse='events.Receiver')

    @cached_property
    def Dispatcher(self) -> type:
        """:class:`~celery.events.EventDispatcher` bound to the app."""
        return self.app.subclass_with_self(self.dispatcher_cls, reverse='events.Dispatcher')

    @cached_property
    def State(self) -> type:
        """:class:`~celery.events.state.State` bound to the app."""
        return self.app.subclass_with_self(self.state_cls, reverse='events.State')

    @contextmanager
    def default_dispatcher(self, hostname: str | None = None, enabled: bool = True,
                           buffer_while_offline: bool = False) -> Iterator[Any]:
        """A dispatcher publishing with a producer from the app's pool."""
        with self.app.amqp.producer_pool.acquire(block=True) as producer:
            with self.Dispatcher(producer.connection, hostname, enabled,
                                 producer.channel, buffer_while_offline) as dispatcher:
                yield dispatcher

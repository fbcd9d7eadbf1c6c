"""``app.events``: the event classes bound to an app."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from celery.utils.imports import symbol_by_name

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.events.dispatcher import EventDispatcher
    from celery.events.receiver import EventReceiver
    from celery.events.state import State

__all__ = ('Events',)


class Events:
    """Factory of event dispatchers, receivers and cluster state for one app."""

    receiver_cls: str | type[EventReceiver] = 'celery.events.receiver:EventReceiver'
    dispatcher_cls: str | type[EventDispatcher] = 'celery.events.dispatcher:EventDispatcher'
    state_cls: str | type[State] = 'celery.events.state:State'

    def __init__(self, app: Celery | None = None) -> None:
        self.app = app

    def _bound_app(self) -> Celery:
        if self.app is None:
            raise TypeError('Events needs an app: use app.events')
        return self.app

    @cached_property
    def Receiver(self) -> type[EventReceiver]:
        """:class:`~celery.events.EventReceiver` bound to the app."""
        base: type[EventReceiver] = symbol_by_name(self.receiver_cls)
        return self._bound_app().subclass_with_self(base, reverse='events.Receiver')

    @cached_property
    def Dispatcher(self) -> type[EventDispatcher]:
        """:class:`~celery.events.EventDispatcher` bound to the app."""
        base: type[EventDispatcher] = symbol_by_name(self.dispatcher_cls)
        return self._bound_app().subclass_with_self(base, reverse='events.Dispatcher')

    @cached_property
    def State(self) -> type[State]:
        """:class:`~celery.events.state.State` bound to the app."""
        base: type[State] = symbol_by_name(self.state_cls)
        return self._bound_app().subclass_with_self(base, reverse='events.State')

    @contextmanager
    def default_dispatcher(self, hostname: str | None = None, enabled: bool = True,
                           buffer_while_offline: bool = False) -> Iterator[EventDispatcher]:
        """A dispatcher publishing with a producer from the app's pool."""
        with self._bound_app().amqp.producer_pool.acquire(block=True) as producer:
            with self.Dispatcher(producer.connection, hostname, enabled,
                                 producer.channel, buffer_while_offline) as dispatcher:
                yield dispatcher

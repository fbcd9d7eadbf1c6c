"""The app's kombu connections when the fast path is on: owned transport classes by scheme.

Extends :class:`celery.app.broker_connection.BrokerConnection` (a
:class:`kombu.Connection`) and overrides only ``get_transport_cls()``, the
method kombu documents as "the currently used transport class" and calls
whenever it builds a transport.  Handing kombu a class as ``transport=``
would do too, but then the connection's ``transport_cls`` is that class:
``info()`` (sent in ``inspect stats`` replies, where it cannot be
serialized), ``as_uri()`` and failover to an alternate URL would all differ
from stock kombu.  Here ``transport_cls`` stays the URL's scheme and only
the class kombu instantiates for it changes.
"""
from __future__ import annotations

from typing import Any, ClassVar

from celery.app.broker_connection import BrokerConnection
from celery.transport import owned_transport

__all__ = ('OwnedReadConnection', 'OwnedTransportConnection', 'OwnedWriteConnection')


class OwnedTransportConnection(BrokerConnection):
    """kombu connection using the owned transport for its URL scheme, where there is one."""

    #: Whether the connection consumes (the consumer transport) or publishes.
    reading: ClassVar[bool] = False

    def get_transport_cls(self) -> Any:
        """The owned transport class for the scheme, else kombu's."""
        scheme = self.transport_cls
        if isinstance(scheme, str):
            owned = owned_transport(scheme, self.reading)
            if owned is not None:
                return owned
        return super().get_transport_cls()


class OwnedReadConnection(OwnedTransportConnection):
    """Connection for consuming (``app.connection_for_read()``)."""

    reading = True


class OwnedWriteConnection(OwnedTransportConnection):
    """Connection for publishing (``app.connection_for_write()``, the producer pool)."""

    reading = False

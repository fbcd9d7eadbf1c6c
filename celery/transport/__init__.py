"""Owned kombu transports: stock behaviour, faster paths (see each module's header).

kombu is handed our transport classes through its public seam: the app's
connections are :class:`celery.transport.connection.OwnedTransportConnection`,
whose ``get_transport_cls()`` gives the owned class for a URL scheme that has
one (the connection's ``transport_cls`` stays the scheme, so ``info()``,
``as_uri()`` and failover look exactly as with stock kombu).

:func:`fast_path_enabled` alone decides whether an app uses them: not with
``CELERY_STOCK_TRANSPORTS=1`` in the environment (the whole process), nor
with ``broker_transport_options={'fast_path': False}`` (one app).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kombu import Connection

    from celery.app.base import Celery

__all__ = (
    'ENABLED', 'connection_class', 'fast_path_enabled', 'owned_transport',
    'transport_for', 'write_connection',
)

#: Switch back to kombu's stock transports: ``CELERY_STOCK_TRANSPORTS=1``.
ENABLED = os.environ.get('CELERY_STOCK_TRANSPORTS', '') in ('', '0')

#: URL schemes that have an owned transport, and the module holding it:
#: for connections that publish, and for connections that consume.
_OWNED = {'amqp': 'pyamqp', 'pyamqp': 'pyamqp', 'amqps': 'pyamqp',
          'redis': 'redis', 'rediss': 'redis'}
_OWNED_READING = {'amqp': 'pyamqp_consumer', 'pyamqp': 'pyamqp_consumer',
                  'amqps': 'pyamqp_consumer', 'redis': 'redis', 'rediss': 'redis'}


def fast_path_enabled(app: Celery | None = None,
                      transport_options: Mapping[str, Any] | None = None) -> bool:
    """Whether ``app``'s connections use the owned transports (else kombu's stock ones).

    The single place deciding "owned or stock": ``CELERY_STOCK_TRANSPORTS=1``
    switches them off for the process, the transport option ``fast_path=False``
    (the app's ``broker_transport_options`` or a connection's own
    ``transport_options``) for one app or connection, and installed
    dependency versions outside the tested ranges
    (:mod:`celery.transport.versions`, one warning) for the process.
    """
    from celery.transport.versions import supported
    if not ENABLED or not supported():   # untested dependency versions: stock path
        return False
    for options in (app.conf.broker_transport_options if app is not None else None,
                    transport_options):
        if options and options.get('fast_path', True) is False:
            return False
    return True


def owned_transport(scheme: str | None, reading: bool = False) -> Any:
    """The owned transport class for a URL ``scheme``, or None for kombu's own."""
    owner = (_OWNED_READING if reading else _OWNED).get(scheme or '')
    if owner == 'pyamqp':
        from celery.transport import pyamqp
        return pyamqp.SSLTransport if scheme == 'amqps' else pyamqp.Transport
    if owner == 'pyamqp_consumer':
        from celery.transport import pyamqp_consumer
        if scheme == 'amqps':
            return pyamqp_consumer.SSLTransport
        return pyamqp_consumer.Transport
    if owner == 'redis':
        from celery.transport.redis import Transport as RedisTransport
        return RedisTransport
    return None


def transport_for(url: str | None, transport: Any = None, reading: bool = False) -> Any:
    """The owned transport class for ``url``, or None for kombu's own choice."""
    if not ENABLED or transport or not url or '://' not in url or ';' in url:
        return None
    scheme = url.split('://', 1)[0]
    if scheme == 'amqp':
        from kombu.transport import supports_librabbitmq
        if supports_librabbitmq():
            return None
    return owned_transport(scheme, reading)


def connection_class(app: Celery, reading: bool = False,
                     transport_options: Mapping[str, Any] | None = None) -> type[Connection]:
    """The kombu connection class for ``app``'s connections (for consuming if ``reading``)."""
    if fast_path_enabled(app, transport_options):
        from celery.transport.connection import OwnedReadConnection, OwnedWriteConnection
        return OwnedReadConnection if reading else OwnedWriteConnection
    from celery.app.broker_connection import BrokerConnection
    return BrokerConnection


def write_connection(app: Celery) -> Connection:
    """``app.connection_for_write()`` for the producer pool, on the owned transport if any.

    kombu's connection pool builds its connections from the first one's
    ``info()``, as plain :class:`kombu.Connection`: only a transport given as
    a class carries over to them.
    """
    conf = app.conf
    transport = None
    if fast_path_enabled(app):
        transport = transport_for(conf.broker_write_url, conf.broker_transport)
    if transport is None:
        return app.connection_for_write()
    return app.connection_for_write(transport=transport)

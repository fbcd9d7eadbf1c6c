"""Owned kombu transports: stock behaviour, faster paths (see each module's header)."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('ENABLED', 'transport_for', 'write_connection')

#: Switch back to kombu's stock transports: ``CELERY_STOCK_TRANSPORTS=1``.
ENABLED = os.environ.get('CELERY_STOCK_TRANSPORTS', '') in ('', '0')

#: URL schemes that have an owned transport, and the module holding it.
_OWNED = {'amqp': 'pyamqp', 'pyamqp': 'pyamqp', 'redis': 'redis', 'rediss': 'redis'}


def transport_for(url: str | None, transport: Any = None) -> Any:
    """The owned transport class for ``url``, or None for kombu's own choice."""
    if not ENABLED or transport or not url or '://' not in url or ';' in url:
        return None
    scheme = url.split('://', 1)[0]
    owner = _OWNED.get(scheme)
    if owner == 'redis':
        from celery.transport.redis import Transport as RedisTransport
        return RedisTransport
    if owner != 'pyamqp':
        return None
    from kombu.transport import supports_librabbitmq
    if scheme == 'amqp' and supports_librabbitmq():
        return None
    from celery.transport.pyamqp import Transport
    return Transport


def write_connection(app: Celery) -> Any:
    """``app.connection_for_write()``, on the owned transport where there is one."""
    conf = app.conf
    transport = transport_for(conf.broker_write_url, conf.broker_transport)
    if transport is None:
        return app.connection_for_write()
    return app.connection_for_write(transport=transport)

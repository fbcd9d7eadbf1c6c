"""Which transport the connections an app reads from use (the worker's consumer)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery.transport import transport_for

__all__ = ('read_transport_for',)


def read_transport_for(url: str | None, transport: Any = None,
                       options: Mapping[str, Any] | None = None) -> Any:
    """The owned consumer transport class for ``url``, or None for kombu's own choice.

    None also when switched off: ``CELERY_STOCK_TRANSPORTS=1`` for the process,
    ``broker_transport_options={'fast_path': False}`` for one app.
    """
    if options and options.get('fast_path', True) is False:
        return None
    owned = transport_for(url, transport)
    if owned is None or getattr(owned, 'driver_type', None) != 'amqp':
        return None
    from celery.transport.pyamqp_consumer import Transport
    return Transport

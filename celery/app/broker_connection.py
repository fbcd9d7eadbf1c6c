"""The app's broker connection: kombu's, with a clear error when a transport's library is missing.

Extends :class:`kombu.Connection` (the class kombu documents for connecting to
a broker) only to translate an :exc:`ImportError` raised while loading the
transport into an error naming the ``celery[...]`` extra that
installs what the transport needs.  Everything else is kombu's.
"""
from __future__ import annotations

from typing import Any

from kombu import Connection

from celery.exceptions import ImproperlyConfigured

__all__ = ('BrokerConnection', 'extra_for_transport', 'missing_library_error')

#: Broker URL scheme -> the extra of ours that installs its transport's libraries.
TRANSPORT_EXTRAS = {
    'redis': 'redis', 'rediss': 'redis', 'sentinel': 'redis',
    'sqs': 'sqs', 'mongodb': 'mongodb', 'consul': 'consul', 'zookeeper': 'zookeeper',
    'pyro': 'pyro', 'slmq': 'slmq', 'gcpubsub': 'gcpubsub', 'librabbitmq': 'librabbitmq',
    'sqlalchemy': 'sqlalchemy', 'sqla': 'sqlalchemy',
}

E_TRANSPORT_LIBRARY = (
    "The {scheme!r} broker transport needs a library that is not installed ({error}): "
    "pip install 'celery[{extra}]'")


def extra_for_transport(scheme: str) -> str | None:
    """The ``celery[...]`` extra that installs the libraries of the transport ``scheme``."""
    return TRANSPORT_EXTRAS.get(scheme.split('+', 1)[-1])


def _scheme_of(hostname: Any, transport: Any) -> str:
    if isinstance(transport, str):
        return transport
    if isinstance(hostname, str) and '://' in hostname:
        return hostname.split(';', 1)[0].split('://', 1)[0]
    return ''


def missing_library_error(scheme: str, exc: ImportError) -> Exception:
    """The error to raise for ``exc`` while loading the ``scheme`` transport."""
    extra = extra_for_transport(scheme)
    if extra is None:
        return exc
    return ImproperlyConfigured(E_TRANSPORT_LIBRARY.format(scheme=scheme, error=exc, extra=extra))


class BrokerConnection(Connection):
    """A kombu connection whose missing transport libraries name the extra to install."""

    def __init__(self, hostname: Any = 'localhost', *args: Any, **kwargs: Any) -> None:
        # kombu loads the transport class while it parses the URL.
        try:
            super().__init__(hostname, *args, **kwargs)
        except ImportError as exc:
            error = missing_library_error(_scheme_of(hostname, kwargs.get('transport')), exc)
            if error is exc:
                raise
            raise error from exc

    def get_transport_cls(self) -> Any:
        """The transport class; a missing library raises :exc:`ImproperlyConfigured`."""
        try:
            return super().get_transport_cls()
        except ImportError as exc:
            error = missing_library_error(_scheme_of(None, self.transport_cls), exc)
            if error is exc:
                raise
            raise error from exc

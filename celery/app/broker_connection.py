"""The app's broker connection: kombu's, with a clear error when a transport's library is missing.

Extends :class:`kombu.Connection` (the class kombu documents for connecting to
a broker) only to translate an :exc:`ImportError` raised while loading the
transport into an error naming the ``celery[...]`` extra that
installs what the transport needs.  Everything else is kombu's.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu import Connection

from celery.exceptions import ImproperlyConfigured

__all__ = ('BrokerConnection', 'extra_for_transport', 'naming_the_extra')

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


@contextmanager
def naming_the_extra(scheme: str) -> Iterator[None]:
    """Turn an :exc:`ImportError` loading the ``scheme`` transport into one naming its extra."""
    try:
        yield
    except ImportError as exc:
        extra = extra_for_transport(scheme)
        if extra is None:
            raise
        raise ImproperlyConfigured(
            E_TRANSPORT_LIBRARY.format(scheme=scheme, error=exc, extra=extra)) from exc


class BrokerConnection(Connection):
    """A kombu connection whose missing transport libraries name the extra to install."""

    def __init__(self, hostname: Any = 'localhost', *args: Any, **kwargs: Any) -> None:
        # kombu loads the transport class while it parses the URL.
        with naming_the_extra(_scheme_of(hostname, kwargs.get('transport'))):
            super().__init__(hostname, *args, **kwargs)

    def get_transport_cls(self) -> Any:
        """The transport class; a missing library raises :exc:`ImproperlyConfigured`."""
        with naming_the_extra(_scheme_of(None, self.transport_cls)):
            return super().get_transport_cls()

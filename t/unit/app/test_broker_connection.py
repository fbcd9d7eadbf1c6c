"""A broker transport whose library is missing names the extra to install."""
from __future__ import annotations

import sys

import pytest

from celery.app.broker_connection import BrokerConnection, extra_for_transport
from celery.exceptions import ImproperlyConfigured


@pytest.fixture
def without_redis_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry makes ``import kombu.transport.redis`` raise ImportError,
    # as it does when redis-py (or what kombu's transport imports) is missing.
    monkeypatch.setitem(sys.modules, 'kombu.transport.redis', None)


@pytest.mark.parametrize(('scheme', 'extra'), [
    ('redis', 'redis'), ('rediss', 'redis'), ('sentinel', 'redis'), ('sqs', 'sqs'),
    ('sqla+postgresql', None), ('amqp', None), ('memory', None),
])
def test_extra_for_each_transport(scheme: str, extra: str | None) -> None:
    assert extra_for_transport(scheme) == extra


def test_missing_library_for_a_url_names_the_extra(without_redis_transport: None) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'celery\[redis\]'"):
        BrokerConnection('redis://127.0.0.1:6379/10')


def test_missing_library_for_a_transport_name_names_the_extra(
        without_redis_transport: None) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'redis' broker transport"):
        BrokerConnection('127.0.0.1', transport='redis').connect()


def test_the_app_connects_through_it(app) -> None:
    assert isinstance(app.connection_for_write(), BrokerConnection)


def test_other_transports_are_kombus_own(app) -> None:
    with BrokerConnection('memory://') as conn:
        assert conn.transport.driver_type == 'memory'
        assert isinstance(conn.clone(), BrokerConnection)

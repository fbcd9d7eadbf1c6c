"""A broker transport whose library is missing names the extra to install."""
from __future__ import annotations

import sys

import pytest
from kombu.transport import TRANSPORT_ALIASES

from celery.app.broker_connection import BrokerConnection, extra_for_transport
from celery.exceptions import ImproperlyConfigured


@pytest.fixture
def without_consul_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # Point kombu's alias at a module that cannot be imported, as when the
    # transport's library is missing (kombu caches transports it has loaded,
    # so a transport no other test uses is the one to break).
    monkeypatch.setitem(sys.modules, 'celery_tests_missing_transport', None)
    monkeypatch.setitem(TRANSPORT_ALIASES, 'consul', 'celery_tests_missing_transport:Transport')


@pytest.mark.parametrize(('scheme', 'extra'), [
    ('redis', 'redis'), ('rediss', 'redis'), ('sentinel', 'redis'), ('sqs', 'sqs'),
    ('sqla+postgresql', None), ('amqp', None), ('memory', None),
])
def test_extra_for_each_transport(scheme: str, extra: str | None) -> None:
    assert extra_for_transport(scheme) == extra


def test_missing_library_for_a_url_names_the_extra(without_consul_transport: None) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'celery\[consul\]'"):
        BrokerConnection('consul://127.0.0.1:8500/')


def test_missing_library_for_a_transport_name_names_the_extra(
        without_consul_transport: None) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'consul' broker transport"):
        BrokerConnection('127.0.0.1', transport='consul').connect()


def test_the_app_connects_through_it(app) -> None:
    assert isinstance(app.connection_for_write(), BrokerConnection)


def test_other_transports_are_kombus_own(app) -> None:
    with BrokerConnection('memory://') as conn:
        assert conn.transport.driver_type == 'memory'
        assert isinstance(conn.clone(), BrokerConnection)

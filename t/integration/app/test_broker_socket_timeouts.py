"""``bound_open_broker_sockets``: a connected kombu connection's socket gets the timeout."""
from __future__ import annotations

from kombu import Connection

from celery.utils.threads import bound_open_broker_sockets


def test_the_socket_of_a_connected_connection_is_bounded_then_restored(amqp_url: str) -> None:
    with Connection(amqp_url) as connection:
        connection.connect()
        sock = connection.connection.sock
        before = sock.gettimeout()
        with bound_open_broker_sockets(connection, 2.5) as bound:
            assert bound is connection and sock.gettimeout() == 2.5
        assert sock.gettimeout() == before


def test_a_connection_not_connected_is_left_alone(amqp_url: str) -> None:
    with Connection(amqp_url) as connection:
        with bound_open_broker_sockets(connection, 2.5):
            assert not connection.connected   # bounding did not connect it

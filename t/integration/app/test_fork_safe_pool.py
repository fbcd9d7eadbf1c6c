"""A forked child lets go of the app's pooled broker sockets; the parent keeps using them."""
from __future__ import annotations

import os

from celery import Celery
from celery.app.pools import drop_in_child


def test_a_forked_child_closes_its_copies_and_the_parent_connection_lives_on(
        amqp_url: str, unique: str) -> None:
    app = Celery(f'forksafe-{unique}', set_as_current=False, broker=amqp_url)
    try:
        pool = app.pool
        with pool.acquire(block=True) as connection:
            connection.connect()
            sock = connection.connection.sock
        pid = os.fork()
        if pid == 0:   # the child: its copy of the descriptor is closed
            code = 1
            try:
                drop_in_child(pool)
                code = 0 if sock.fileno() == -1 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        with pool.acquire(block=True) as connection:
            assert connection.connection.sock is sock and sock.fileno() != -1
            channel = connection.default_channel
            channel.queue_declare(queue=f'forksafe-{unique}', auto_delete=True)
            channel.queue_delete(queue=f'forksafe-{unique}')
    finally:
        app.close()


def test_a_pool_never_connected_has_nothing_to_let_go(amqp_url: str, unique: str) -> None:
    app = Celery(f'forksafe-{unique}', set_as_current=False, broker=amqp_url)
    try:
        drop_in_child(app.pool)   # made no connection yet: nothing to close, none opened
        assert all(not c.connected for c in app.pool.made)
    finally:
        app.close()

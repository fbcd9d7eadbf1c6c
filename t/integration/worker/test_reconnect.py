"""After losing the broker connection the worker reconnects and consumes again."""
from __future__ import annotations

import socket

import pytest

from t.integration.worker.conftest import wait_for


@pytest.mark.parametrize('broker_url', ['amqp'], indirect=True)
def test_consumes_again_after_connection_loss(make_app, run_worker):
    app = make_app()

    @app.task
    def add(x, y):
        return x + y

    running = run_worker(app)
    consumer = running.worker.consumer
    assert add.delay(1, 1).get(timeout=10) == 2
    first = consumer.connection
    # Cut the TCP connection under the worker, as a broker restart would.
    first.connection.sock.shutdown(socket.SHUT_RDWR)
    assert wait_for(lambda: consumer.restart_count >= 1, timeout=20)
    results = [add.delay(i, 1) for i in range(5)]
    assert [r.get(timeout=20) for r in results] == [i + 1 for i in range(5)]

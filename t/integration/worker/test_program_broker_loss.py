"""The worker survives losing its broker and consumes again from every queue."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from t.integration.proxy import TcpProxy
from t.integration.worker.conftest import Scenario, wait_for

pytestmark = pytest.mark.timeout(120) if hasattr(pytest.mark, 'timeout') else []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A throw-away ``redis-server`` this test may kill and start again."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f'redis://127.0.0.1:{self.port}/0'

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ['redis-server', '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
             '--appendonly', 'no'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self._answers, timeout=10), 'private redis-server did not start'

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(('127.0.0.1', self.port), timeout=0.5) as sock:
                sock.sendall(b'PING\r\n')
                return sock.recv(16).startswith(b'+PONG')
        except OSError:
            return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which('redis-server') is None:
        pytest.skip('redis-server is not installed')
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def amqp_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(5672)
    proxy.up()
    yield proxy
    proxy.down()


def _both_queues_work(scenario: Scenario, other: str, base: int) -> None:
    results = [scenario.send('add', (base, i), queue=q)
               for i in range(3) for q in (scenario.queue, other)]
    assert [r.get(timeout=30) for r in results] == [base + i for i in range(3) for _ in (0, 1)]


@pytest.mark.parametrize('broker_url', ['redis'], indirect=True)
def test_redis_server_restart(scenario, private_redis):
    other = scenario.queue + '.b'
    scenario.client.conf.broker_url = private_redis.url
    worker = scenario.start('-Q', f'{scenario.queue},{other}', broker_url=private_redis.url)
    _both_queues_work(scenario, other, 0)
    private_redis.kill()
    worker.wait_for('Connection to broker lost', timeout=20)
    time.sleep(1.0)
    private_redis.start()
    # The worker reconnects to the new server and consumes from both queues again.
    _both_queues_work(scenario, other, 10)
    assert worker.proc.poll() is None


@pytest.mark.parametrize('broker_url', ['amqp'], indirect=True)
def test_amqp_connection_cut(scenario, amqp_proxy):
    other = scenario.queue + '.b'
    url = f'amqp://guest:guest@127.0.0.1:{amqp_proxy.port}//'
    worker = scenario.start('-Q', f'{scenario.queue},{other}', broker_url=url)
    _both_queues_work(scenario, other, 0)
    amqp_proxy.down()
    worker.wait_for('Connection to broker lost', timeout=20)
    # Sent while the worker is cut off (the client talks to RabbitMQ directly).
    waiting = [scenario.send('add', (100, i), queue=q) for i in range(2)
               for q in (scenario.queue, other)]
    time.sleep(1.0)
    amqp_proxy.up()
    assert [r.get(timeout=30) for r in waiting] == [100, 100, 101, 101]
    _both_queues_work(scenario, other, 10)
    assert worker.proc.poll() is None


def is_active(client, task_id: str) -> bool:
    """Whether a worker reports ``task_id`` among its active tasks."""
    replies = client.control.inspect(timeout=1.0).active() or {}
    return any(task['id'] == task_id for tasks in replies.values() for task in tasks)


@pytest.mark.parametrize('broker_url', ['amqp'], indirect=True)
def test_long_running_acks_late_task_cancelled_on_connection_loss(scenario, amqp_proxy):
    url = f'amqp://guest:guest@127.0.0.1:{amqp_proxy.port}//'
    worker = scenario.start(
        '-c', '1', broker_url=url,
        conf={'worker_cancel_long_running_tasks_on_connection_loss': True})
    # Long enough to still run after the inspect round trips of a loaded machine.
    result = scenario.send('slow_late', (6.0, 'cut'))
    scenario.wait_events('start', marker='cut')
    # The child runs the task before the worker has read its "accepted" note;
    # cut the connection once the worker counts the task as active.
    assert wait_for(lambda: is_active(scenario.client, result.id), timeout=20), worker.output
    amqp_proxy.down()
    worker.wait_for('cancelled', timeout=20)
    # Reported as to be retried while the message waits for redelivery.
    assert wait_for(lambda: result.state == 'RETRY', timeout=10), worker.output
    amqp_proxy.up()
    # Redelivered after the reconnect and run to the end exactly once.
    assert wait_for(lambda: result.state == 'SUCCESS', timeout=30), worker.output
    assert result.get(timeout=1) == 'cut'
    assert len(scenario.events('start')) == 2
    assert len([e for e in scenario.events('end')]) == 1

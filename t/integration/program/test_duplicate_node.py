"""A second worker under a node name that is in use stops with an error."""
from __future__ import annotations

import pytest

from t.servers import AMQP_URL

EXIT_TIMEOUT = 30
QUIET = ('worker', '--without-gossip', '--without-heartbeat', '-c', '1', '-l', 'INFO')


def assert_refused(second, nodename_prefix: str) -> None:
    assert second.wait(timeout=EXIT_TIMEOUT) != 0
    out = second.output
    line = second.wait_for(r'already running')
    assert f'{nodename_prefix}@' in line and '-n' in line
    assert ' ready.' not in out.split('already running')[0].splitlines()[-1]
    assert 'RESOURCE_LOCKED' not in out.split('already running')[0]


def test_second_worker_with_the_same_name_is_refused(start_worker, unique):
    name = f'dup-{unique}'
    first = start_worker(*QUIET, '-n', f'{name}@%h')
    first.wait_ready()
    second = start_worker(*QUIET, '-n', f'{name}@%h')
    assert_refused(second, name)
    assert first.proc.poll() is None  # the first worker goes on


def test_refused_without_mingle_on_rabbitmq(start_worker, unique, broker_url):
    if broker_url != AMQP_URL:
        pytest.skip('only RabbitMQ gives a worker its own exclusive mailbox queue')
    name = f'dup-nomingle-{unique}'
    first = start_worker(*QUIET, '--without-mingle', '-n', f'{name}@%h')
    first.wait_ready()
    second = start_worker(*QUIET, '--without-mingle', '-n', f'{name}@%h')
    assert_refused(second, name)
    assert first.proc.poll() is None

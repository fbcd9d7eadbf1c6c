"""The pytest fixtures drive real workers over RabbitMQ and Redis."""
from __future__ import annotations

import uuid

import pytest

from celery.contrib.testing.manager import Manager
from celery.exceptions import TimeoutError
from t.conftest import AMQP_URL, REDIS_URL

#: A queue of this module only: other test runs share the brokers.
QUEUE = f'contrib-fixtures-{uuid.uuid4().hex[:12]}'


@pytest.fixture(scope='session')
def celery_config() -> dict:
    return {
        'broker_url': AMQP_URL,
        'result_backend': REDIS_URL,
        'task_default_queue': QUEUE,
        'result_expires': 300,
    }


def test_amqp_broker_redis_backend(celery_app, celery_worker) -> None:
    @celery_app.task
    def mul(x: int, y: int) -> int:
        return x * y

    @celery_app.task
    def fail() -> None:
        raise KeyError('expected')

    assert celery_app.conf.broker_url == AMQP_URL
    assert mul.delay(4, 4).get(timeout=10) == 16
    with pytest.raises(KeyError, match='expected'):
        fail.delay().get(timeout=10)


@pytest.mark.celery(broker_url=REDIS_URL)
def test_redis_broker_through_the_marker(celery_app, celery_worker) -> None:
    @celery_app.task
    def echo(value: str) -> str:
        return value

    assert celery_app.conf.broker_url == REDIS_URL
    results = [echo.delay(str(i)) for i in range(5)]
    assert [r.get(timeout=10) for r in results] == ['0', '1', '2', '3', '4']


@pytest.mark.celery(result_backend='rpc://')
def test_rpc_backend_through_the_marker(celery_app, celery_worker) -> None:
    @celery_app.task
    def add(x: int, y: int) -> int:
        return x + y

    assert add.delay(20, 22).get(timeout=10) == 42


def test_manager_joins_results_from_a_real_worker(celery_app, celery_worker) -> None:
    @celery_app.task
    def add(x: int, y: int) -> int:
        return x + y

    manager = Manager(celery_app)
    results = [add.delay(i, i) for i in range(4)]
    manager.join(celery_app.ResultSet(results), timeout=10)
    assert [r.result for r in results] == [0, 2, 4, 6]
    manager.assert_result_tasks_in_progress_or_completed(results, max_retries=5)


@pytest.mark.celery(task_default_queue=f'{QUEUE}-unconsumed')
def test_results_never_arrive_without_a_worker(celery_app) -> None:
    @celery_app.task
    def add(x: int, y: int) -> int:
        return x + y

    result = add.delay(1, 1)
    with pytest.raises(TimeoutError):
        result.get(timeout=0.5)
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_delete(f'{QUEUE}-unconsumed')

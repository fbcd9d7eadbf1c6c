"""Manager's remote-control helpers against a real worker over RabbitMQ."""
from __future__ import annotations

import threading
import uuid

import pytest

from celery.contrib.testing.manager import Manager
from t.conftest import AMQP_URL, REDIS_URL

pytest.importorskip('celery.app.control')
pytest.importorskip('celery.worker.control')

QUEUE = f'contrib-inspect-{uuid.uuid4().hex[:12]}'

release = threading.Event()


@pytest.fixture(scope='session')
def celery_config() -> dict:
    return {'broker_url': AMQP_URL, 'result_backend': REDIS_URL,
            'task_default_queue': QUEUE, 'result_expires': 300}


@pytest.fixture(scope='session')
def celery_worker_pool() -> str:
    # The consumer must stay free to answer inspect while a task blocks.
    return 'threads'


@pytest.fixture(scope='session')
def celery_worker_parameters() -> dict:
    return {'concurrency': 2}


def test_assert_accepted_sees_a_running_task(celery_app, celery_worker) -> None:
    @celery_app.task
    def blocked() -> str:
        release.wait(10)
        return 'released'

    manager = Manager(celery_app)
    result = blocked.delay()
    try:
        manager.assert_received([result.id], max_retries=20, interval_start=0.1)
        manager.assert_accepted([result.id], max_retries=20, interval_start=0.1)
        states = manager.query_task_states([result.id])
        assert result.id in states['active']
    finally:
        release.set()
    assert result.get(timeout=10) == 'released'
    manager.wait_until_idle(timeout=10)

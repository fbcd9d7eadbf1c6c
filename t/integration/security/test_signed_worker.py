"""A worker using the auth serializer runs signed tasks and refuses unsigned or forged ones."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from celery import states
from celery.contrib.testing.app import TestApp
from celery.contrib.testing.worker import start_worker
from celery.security.certificate import Certificate, CertStore
from celery.security.key import PrivateKey
from celery.security.serialization import SecureSerializer
from t.conftest import AMQP_URL, REDIS_URL
from t.unit.security.certs import (
    make_keypair,
    preserved_serializer_registry,
    write_keypair,
)


@pytest.fixture
def registry_restored() -> Iterator[None]:
    with preserved_serializer_registry():
        yield


@pytest.mark.parametrize('broker', [AMQP_URL, REDIS_URL], ids=['amqp', 'redis'])
def test_worker_runs_signed_and_refuses_unsigned_tasks(unique, tmp_path, broker, caplog,
                                                       registry_restored):
    client = make_keypair('client', serial=11)
    key, cert = write_keypair(tmp_path, 'client', client)
    app = TestApp(f'signed-{unique}', config={
        'broker_url': broker, 'result_backend': REDIS_URL,
        'task_default_queue': f'signed-{unique}', 'result_expires': 300,
        'task_serializer': 'auth', 'accept_content': ['auth'],
        'result_serializer': 'json', 'result_accept_content': ['json'],
        'security_key': key, 'security_certificate': cert, 'security_cert_store': cert,
    })
    ran: list[tuple[int, int]] = []
    lock = threading.Lock()

    @app.task(shared=False)
    def add(x: int, y: int) -> int:
        with lock:
            ran.append((x, y))
        return x + y

    app.setup_security(allowed_serializers=['json'])
    with start_worker(app, pool='solo'):
        assert add.delay(2, 3).get(timeout=10) == 5

        unsigned = add.apply_async((100, 1), serializer='json')
        intruder = make_keypair('intruder', serial=66)
        store = CertStore()
        store.add_cert(Certificate(intruder.cert))
        forger = SecureSerializer(PrivateKey(intruder.key), Certificate(intruder.cert), store)
        forged = send_signed_by(forger, add, (200, 1))

        # Sent after the bad ones: once it has run, they have been dealt with.
        assert add.delay(4, 4).get(timeout=10) == 8
        time.sleep(0.2)
    assert ran == [(2, 3), (4, 4)]
    assert unsigned.state != states.SUCCESS
    assert forged.state != states.SUCCESS
    assert 'untrusted content of type application/json' in caplog.text
    assert "Unknown certificate: 'intruder Celery Tests 66'" in caplog.text
    app.close()


def send_signed_by(forger: SecureSerializer, task, args):
    """Send ``task`` signed by ``forger``'s key instead of the configured one."""
    from kombu.serialization import registry
    genuine = registry._encoders['auth']
    registry._encoders['auth'] = genuine._replace(encoder=forger.serialize)
    try:
        return task.apply_async(args)
    finally:
        registry._encoders['auth'] = genuine

"""Durable revokes (``worker_revokes_backend``): the Redis store and its hooks."""
from __future__ import annotations

import time
from types import SimpleNamespace
from unittest.mock import patch

import pytest

from celery import Celery
from celery.exceptions import ImproperlyConfigured
from celery.worker import revoke_store, state as worker_state
from celery.worker.control import Panel


@pytest.fixture
def store_app(redis_backend_url: str, unique: str):
    app = Celery(f'revokes-{unique}', broker='memory://', backend=redis_backend_url,
                 set_as_current=False)
    app.conf.worker_revokes_backend = 'result_backend'
    return app


@pytest.fixture
def store(redis_backend_url: str, unique: str):
    store = revoke_store.RevokeStore(redis_backend_url, key=f'celery-revoked-{unique}')
    yield store
    store.client.delete(store.key)


@pytest.fixture(autouse=True)
def clean_state():
    yield
    worker_state.revoked.clear()
    revoke_store.loaded.clear()


def test_off_by_default() -> None:
    app = Celery(set_as_current=False)
    assert app.conf.worker_revokes_backend is None
    assert revoke_store.store_url(app) is None
    assert revoke_store.store_for(app) is None


def test_url_schemes(redis_backend_url: str) -> None:
    app = Celery(set_as_current=False, backend=redis_backend_url)
    app.conf.worker_revokes_backend = redis_backend_url
    assert revoke_store.store_url(app) == redis_backend_url
    app.conf.worker_revokes_backend = 'result_backend'
    assert revoke_store.store_url(app) == redis_backend_url
    app.conf.result_backend = 'rpc://'
    with pytest.raises(ImproperlyConfigured, match='Redis'):
        revoke_store.store_url(app)
    app.conf.worker_revokes_backend = 'amqp://'
    with pytest.raises(ImproperlyConfigured):
        revoke_store.store_url(app)


def test_add_and_load_keep_the_expiry(store: revoke_store.RevokeStore) -> None:
    now = time.time()
    store.add(['a', 'b'], now=now)
    store.add(['old'], now=now - store.expires - 1)
    assert store.load(now=now) == {'a': now + store.expires, 'b': now + store.expires}


def test_add_trims_to_maxlen(store: revoke_store.RevokeStore) -> None:
    store.maxlen = 2
    for offset, task_id in enumerate('xyz'):
        store.add([task_id], now=time.time() + offset)
    assert set(store.load()) == {'y', 'z'}


def test_load_into_worker_expires_entries_when_the_store_would(
        store_app: Celery, store: revoke_store.RevokeStore) -> None:
    revoke_store.store_for(store_app).key = store.key
    now = time.time()
    store.add(['fresh'], now=now)
    store.add(['nearly-gone'], now=now - store.expires + 0.2)
    assert revoke_store.load_into_worker(store_app) == 2
    assert 'fresh' in worker_state.revoked and 'nearly-gone' in worker_state.revoked
    worker_state.revoked.purge(now=time.monotonic() + 0.5)
    assert 'fresh' in worker_state.revoked and 'nearly-gone' not in worker_state.revoked
    assert revoke_store.sources(['fresh', 'live-one']) == {
        'fresh': 'revokes_backend', 'live-one': 'live'}


def test_store_errors_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    app = Celery(set_as_current=False)
    app.conf.worker_revokes_backend = 'redis://127.0.0.1:1/0'
    revoke_store.record(app, 'some-id')
    assert revoke_store.load_into_worker(app) == 0
    assert 'Could not record revokes' in caplog.text
    assert 'Could not load revokes' in caplog.text


def test_client_revoke_records_only_when_on(store_app: Celery) -> None:
    with patch('celery.worker.revoke_store.record') as record, \
            patch.object(store_app.control, 'mailbox'):
        store_app.control.revoke(['t1', 't2'])
        record.assert_called_once_with(store_app, ['t1', 't2'])
        record.reset_mock()
        store_app.conf.worker_revokes_backend = None
        store_app.control.revoke('t3')
        store_app.control.broadcast('ping')
        record.assert_not_called()


def test_worker_records_received_revokes(store_app: Celery) -> None:
    class State:
        app, consumer = store_app, SimpleNamespace(timer=None, controller=None)
    with patch('celery.worker.revoke_store.record') as record:
        Panel.data['revoke'](State(), task_id=['r1'])
    record.assert_called_once_with(store_app, ['r1'])
    assert 'r1' in worker_state.revoked
    assert Panel.data['revoked_sources'](State()) == {'r1': 'live'}
    # inspect revoked: the list of ids as in Celery, with sources when asked.
    assert 'r1' in Panel.data['revoked'](State())
    assert Panel.data['revoked'](State(), sources=True)['r1'] == 'live'


def test_step_disabled_by_default() -> None:
    class Worker:
        app = Celery(set_as_current=False)
    assert not revoke_store.DurableRevokes(Worker()).enabled

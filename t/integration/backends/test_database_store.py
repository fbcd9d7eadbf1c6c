"""Database backend writes: a dropped connection is retried, an unstorable value is refused."""
from __future__ import annotations

import logging
import threading

import pytest

from celery import states
from celery.exceptions import BackendStoreError
from t.servers import POSTGRES_URL


def with_application_name(url: str, name: str) -> str:
    """``url`` whose connections say ``name`` in ``pg_stat_activity`` (and get their own engine)."""
    return f'{url}{"&" if "?" in url else "?"}application_name={name}'


def terminate_connections(application_name: str) -> int:
    """Make the server drop every connection of ``application_name``; how many it dropped."""
    import psycopg2
    conn = psycopg2.connect(POSTGRES_URL)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute('SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                           'WHERE application_name = %s', (application_name,))
            return cursor.rowcount
    finally:
        conn.close()


@pytest.fixture
def pg_app(make_app, unique):
    """An app on PostgreSQL whose connections can be told apart; its application name."""
    name = f'celery-test-{unique}'
    return make_app('postgresql', url='db+' + with_application_name(POSTGRES_URL, name)), name


@pytest.fixture
def unpinged_pg_app(make_app, unique):
    """Like ``pg_app`` without ``pool_pre_ping``: a dead pooled connection fails the statement."""
    name = f'celery-test-{unique}'
    return make_app('postgresql', url='db+' + with_application_name(POSTGRES_URL, name),
                    database_engine_options={'pool_pre_ping': False}), name


def test_store_after_the_connection_dropped_retries_and_succeeds(unpinged_pg_app, unique,
                                                                 caplog) -> None:
    app, name = unpinged_pg_app
    assert not app.conf.result_backend_always_retry  # the backend retries by itself
    app.backend.mark_as_done(unique + '1', 1)  # the pool now holds a live connection
    assert terminate_connections(name) >= 1

    with caplog.at_level(logging.WARNING):
        app.backend.mark_as_done(unique + '2', 2)

    assert 'Failed operation _write_task.  Retrying 2 more times.' in caplog.text
    assert app.AsyncResult(unique + '2').get(timeout=5) == 2


def test_store_with_default_engine_options_survives_a_dropped_connection(pg_app,
                                                                         unique) -> None:
    app, name = pg_app
    app.backend.mark_as_done(unique + '1', 1)
    assert terminate_connections(name) >= 1
    app.backend.mark_as_done(unique + '2', 2)  # the pool's pre-ping replaces the connection
    assert app.AsyncResult(unique + '2').get(timeout=5) == 2


def test_read_after_the_connection_dropped_retries_and_succeeds(unpinged_pg_app,
                                                                unique) -> None:
    app, name = unpinged_pg_app
    app.backend.mark_as_done(unique, 'v')
    assert terminate_connections(name) >= 1
    assert app.backend.get_task_meta(unique, cache=False)['result'] == 'v'


def test_value_too_large_for_its_column_raises_backend_store_error(pg_app) -> None:
    app, _ = pg_app
    too_long_id = 'x' * 200  # task_id is a VARCHAR(155)
    with pytest.raises(BackendStoreError) as info:
        app.backend.store_result(too_long_id, 1, states.SUCCESS)
    assert info.value.task_id == too_long_id and info.value.state == states.SUCCESS


@pytest.mark.parametrize('kind', ['postgresql', 'sqlite'])
def test_unserializable_value_raises_backend_store_error(make_app, unique, kind) -> None:
    app = make_app(kind)
    with pytest.raises(BackendStoreError) as info:
        app.backend.mark_as_done(unique, threading.Lock())
    assert info.value.task_id == unique and 'pickle' in str(info.value)
    app.backend.mark_as_done(unique, 'storable')  # the backend goes on working
    assert app.AsyncResult(unique).get(timeout=5) == 'storable'

"""Chords on a backend without native join: ``celery.chord_unlock`` polls the header."""
from __future__ import annotations

import uuid

import pytest

from celery import chord
from celery.exceptions import ChordError

from t.servers import POSTGRES_URL

from .conftest import REDIS_BROKER, start_worker, stop_worker

# The server of the suite's PostgreSQL URL, without its database.
PG_SERVER = POSTGRES_URL.rsplit('/', 1)[0]


def _admin(sql: str) -> None:
    import psycopg2
    conn = psycopg2.connect(POSTGRES_URL)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope='module')
def db_canvas():
    pytest.importorskip('sqlalchemy')
    pytest.importorskip('psycopg2')
    from .canvasapp import make_app
    name = f'canvas_{uuid.uuid4().hex[:10]}'
    # A database of our own: other suites create and drop tables in the shared one.
    _admin(f'CREATE DATABASE {name}')
    backend = f'db+{PG_SERVER}/{name}'
    queue = f'canvas-db-{name}'
    worker = start_worker(REDIS_BROKER, backend, queue)
    app = make_app(REDIS_BROKER, backend, queue)
    try:
        yield app
    finally:
        stop_worker(worker)
        app.close()
        _admin(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')


def test_chord_joins_through_chord_unlock(db_canvas):
    add, xsum = db_canvas.tasks['canvas.add'], db_canvas.tasks['canvas.xsum']
    res = chord([add.s(i, i) for i in range(10)], xsum.s()).delay()
    assert res.get(timeout=30, interval=0.1) == 90


def test_failed_header_fails_body_through_chord_unlock(db_canvas):
    add, fail, xsum = (db_canvas.tasks[f'canvas.{n}'] for n in ('add', 'fail', 'xsum'))
    res = chord([add.s(1, 1), fail.si(2)], xsum.s()).delay()
    with pytest.raises(ChordError):
        res.get(timeout=30, interval=0.1, follow_parents=False)

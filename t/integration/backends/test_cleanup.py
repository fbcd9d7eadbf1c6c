"""Expiry cleanup (the work of the celery.backend_cleanup task) on database and files."""
from __future__ import annotations

import os
import time

import pytest

from celery import states


@pytest.mark.parametrize('kind', ['sqlite', 'postgresql'])
def test_database_cleanup_removes_expired(make_app, kind, unique) -> None:
    app = make_app(kind, result_expires=1)
    backend = app.backend
    backend.store_result(unique + 'old', 1, states.SUCCESS)
    table = backend.tables.task
    with backend.engine.begin() as conn:
        from datetime import datetime
        conn.execute(table.update().values(date_done=datetime(2000, 1, 1)))
    backend.store_result(unique + 'new', 2, states.SUCCESS)
    backend.cleanup()
    assert app.AsyncResult(unique + 'old').state == states.PENDING
    assert app.AsyncResult(unique + 'new').get(timeout=5) == 2


def test_filesystem_cleanup_removes_expired(make_app, unique, tmp_path) -> None:
    app = make_app('filesystem', result_expires=60)
    backend = app.backend
    backend.store_result(unique + 'old', 1, states.SUCCESS)
    backend.store_result(unique + 'new', 2, states.SUCCESS)
    old_file = tmp_path / backend.get_key_for_task(unique + 'old').decode()
    os.utime(old_file, (time.time() - 3600, time.time() - 3600))
    backend.cleanup()
    assert app.AsyncResult(unique + 'old').state == states.PENDING
    assert app.AsyncResult(unique + 'new').get(timeout=5) == 2

"""Store and read every state on each real backend."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from celery import states
from celery.exceptions import TaskRevokedError, TimeoutError


def req(**kw):
    base = {'group': None, 'parent_id': None, 'chord': None, 'ignore_result': False, 'children': [],
                'errbacks': None, 'chain': None, 'task': 't.add', 'args': [1, 2], 'kwargs': {'k': 1},
                'hostname': 'worker1@h', 'retries': 0, 'delivery_info': {'routing_key': 'celery'}}
    return SimpleNamespace(**{**base, **kw})


def test_every_state(make_app, kind, unique) -> None:
    app = make_app(kind)
    backend = app.backend
    tid = f'{unique}-t'
    assert app.AsyncResult(tid).state == states.PENDING
    backend.mark_as_started(tid, pid=42, hostname='h')
    assert app.AsyncResult(tid).state == states.STARTED
    assert app.AsyncResult(tid).result == {'pid': 42, 'hostname': 'h'}
    backend.mark_as_retry(tid, ValueError('again'), traceback='TB1')
    retry = app.AsyncResult(tid)
    assert retry.state == states.RETRY and isinstance(retry.result, ValueError)
    backend.store_result(tid, {'progress': 50}, 'PROGRESS')
    assert app.AsyncResult(tid).info == {'progress': 50}
    backend.mark_as_done(tid, {'sum': 3}, request=req())
    done = app.AsyncResult(tid)
    assert done.get(timeout=5) == {'sum': 3} and done.successful()
    assert done.date_done is not None

    failed = f'{unique}-f'
    backend.mark_as_failure(failed, KeyError('nope'), traceback='Traceback (remote)',
                            request=req())
    result = app.AsyncResult(failed)
    with pytest.raises(KeyError):
        result.get(timeout=5)
    assert isinstance(result.get(timeout=5, propagate=False), KeyError)
    assert result.traceback == 'Traceback (remote)' and result.failed()

    revoked = f'{unique}-r'
    backend.mark_as_revoked(revoked, reason='terminated')
    with pytest.raises(TaskRevokedError):
        app.AsyncResult(revoked).get(timeout=5)


def test_extended_result(make_app, kind, unique) -> None:
    app = make_app(kind, result_extended=True)
    app.backend.mark_as_done(unique, 3, request=req())
    result = app.AsyncResult(unique)
    assert (result.name, result.args, result.kwargs, result.worker, result.queue) == (
        't.add', [1, 2], {'k': 1}, 'worker1@h', 'celery')


def test_get_timeout_and_late_result(make_app, kind, unique) -> None:
    app = make_app(kind)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        app.AsyncResult(unique).get(timeout=0.3, interval=0.05)
    assert time.monotonic() - start < 2
    threading.Timer(0.2, app.backend.mark_as_done, (unique, 'late')).start()
    assert app.AsyncResult(unique).get(timeout=5, interval=0.05) == 'late'


def test_forget(make_app, kind, unique) -> None:
    app = make_app(kind)
    app.backend.mark_as_done(unique, 1)
    assert app.AsyncResult(unique).get(timeout=5) == 1
    app.AsyncResult(unique).forget()
    assert app.AsyncResult(unique).state == states.PENDING


def test_group_save_restore_delete(make_app, kind, unique) -> None:
    app = make_app(kind)
    ids = [f'{unique}-{i}' for i in range(3)]
    for i, tid in enumerate(ids):
        app.backend.mark_as_done(tid, i)
    group = app.GroupResult(unique, [app.AsyncResult(t) for t in ids])
    group.save()
    restored = app.GroupResult.restore(unique)
    assert restored == group and restored.get(timeout=5) == [0, 1, 2]
    group.delete()
    assert app.GroupResult.restore(unique) is None


def test_concurrent_writers(make_app, kind, unique) -> None:
    app = make_app(kind)
    app.backend  # noqa: B018 - load the configuration before the threads race for it
    errors = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                app.backend.store_result(f'{unique}-{n}-{i}', n * 100 + i, states.SUCCESS)
                app.backend.store_result(f'{unique}-shared', i, 'PROGRESS')
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    for n in range(4):
        for i in range(10):
            assert app.AsyncResult(f'{unique}-{n}-{i}').get(timeout=5) == n * 100 + i
    assert app.AsyncResult(f'{unique}-shared').state == 'PROGRESS'

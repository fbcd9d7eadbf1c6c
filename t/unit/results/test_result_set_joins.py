"""Joining result sets: nested groups, late additions, zero timeouts, forgetting, eager revoke."""
from __future__ import annotations

import copy
import pickle
import time

import pytest

from celery import states
from celery.exceptions import TaskRevokedError, TimeoutError
from celery.result import EagerResult, ResultSet, denied_join_result


@pytest.fixture
def backend(app):
    return app.backend


@pytest.fixture
def nested(app, backend, unique):
    """``[1, [KeyError('b')]]``: a group whose second member is a failed group."""
    backend.mark_as_done(unique + 'a', 1)
    backend.mark_as_failure(unique + 'b', KeyError('b'))
    inner = app.GroupResult(unique + 'inner', [app.AsyncResult(unique + 'b')])
    return app.GroupResult(unique, [app.AsyncResult(unique + 'a'), inner])


@pytest.mark.parametrize('join', ['get', 'join', 'join_native'])
def test_nested_group_failure_lands_in_nested_list_without_propagate(nested, join) -> None:
    values = getattr(nested, join)(timeout=1, propagate=False)
    assert values[0] == 1
    assert len(values[1]) == 1 and isinstance(values[1][0], KeyError)


@pytest.mark.parametrize('join', ['get', 'join', 'join_native'])
def test_nested_group_failure_propagates_by_default(nested, join) -> None:
    with pytest.raises(KeyError):
        getattr(nested, join)(timeout=1)


@pytest.mark.parametrize('join', ['get', 'join', 'join_native'])
def test_nested_groups_honour_disable_sync_subtasks(nested, join) -> None:
    with denied_join_result():
        with pytest.raises(RuntimeError):
            getattr(nested, join)(timeout=1, propagate=False)
        values = getattr(nested, join)(timeout=1, propagate=False, disable_sync_subtasks=False)
    assert values[0] == 1 and isinstance(values[1][0], KeyError)


def test_add_after_every_result_is_ready_rearms_the_set(app, backend, unique) -> None:
    backend.mark_as_done(unique + '1', 1)
    results = ResultSet([app.AsyncResult(unique + '1')], app=app)
    assert results.join(timeout=1) == [1]  # fetches each result: the barrier fills
    first_promise = results.on_ready

    results.add(app.AsyncResult(unique + '2'))  # no "Cannot add promise to full barrier"

    assert results.on_ready is not first_promise and not results.on_ready.ready
    assert not results.ready()
    backend.mark_as_done(unique + '2', 2)
    assert results.join(timeout=1) == [1, 2]
    results.add(app.AsyncResult(unique + '3'))  # and again after the re-armed set filled
    assert len(results) == 3


def test_join_with_zero_timeout_returns_ready_results(app, backend, unique) -> None:
    for i in range(3):
        backend.mark_as_done(f'{unique}{i}', i)
    group = app.GroupResult(unique, [app.AsyncResult(f'{unique}{i}') for i in range(3)])
    assert group.join(timeout=0) == [0, 1, 2]
    assert group.get(timeout=0) == [0, 1, 2]


def test_join_with_zero_timeout_raises_only_for_pending(app, backend, unique) -> None:
    backend.mark_as_done(unique + 'done', 1)
    group = app.GroupResult(unique, [app.AsyncResult(unique + 'done'),
                                     app.AsyncResult(unique + 'pending')])
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        group.join(timeout=0, interval=5)
    assert time.monotonic() - started < 2  # no poll interval was slept


def test_eager_revoke_marks_revoked_and_get_raises() -> None:
    result = EagerResult('eager-id', 42, states.SUCCESS, name='tasks.add')
    result.revoke()
    assert result.state == states.REVOKED and result.ready()
    assert isinstance(result.result, TaskRevokedError) and str(result.result) == 'revoked'
    with pytest.raises(TaskRevokedError, match='revoked'):
        result.get()
    assert isinstance(result.get(propagate=False), TaskRevokedError)


def test_eager_result_keeps_its_name_through_copy_and_pickle() -> None:
    result = EagerResult('eager-id', 42, states.SUCCESS, name='tasks.add')
    for clone in (copy.copy(result), pickle.loads(pickle.dumps(result))):
        assert clone.name == 'tasks.add' and clone.get() == 42 and clone.id == 'eager-id'

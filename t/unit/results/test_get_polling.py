"""What ``AsyncResult.get()`` does while it polls: the on_interval hook and failed parents."""
from __future__ import annotations

import threading

import pytest


def test_on_interval_runs_between_polls(app, unique) -> None:
    ticks = []
    threading.Timer(0.15, app.backend.mark_as_done, (unique, 7)).start()
    assert app.AsyncResult(unique).get(timeout=3, interval=0.02,
                                       on_interval=lambda: ticks.append(1)) == 7
    assert ticks


def test_a_parent_failing_while_waiting_stops_the_wait(app, unique) -> None:
    parent = app.AsyncResult(unique + 'p')
    child = app.AsyncResult(unique, parent=parent)
    threading.Timer(0.1, app.backend.mark_as_failure,
                    (parent.id, ValueError('parent broke'))).start()
    with pytest.raises(ValueError, match='parent broke'):
        child.get(timeout=3, interval=0.02)


def test_parents_are_not_checked_without_propagate(app, unique) -> None:
    app.backend.mark_as_failure(unique + 'p', ValueError('parent'))
    app.backend.mark_as_done(unique, 1)
    child = app.AsyncResult(unique, parent=app.AsyncResult(unique + 'p'))
    assert child.get(propagate=False, timeout=1) == 1


def test_a_cached_result_is_not_fetched_again(app, unique) -> None:
    app.backend.mark_as_done(unique, 2)
    result = app.AsyncResult(unique)
    assert result.get(timeout=1) == 2
    app.backend.mark_as_done(unique, 3)
    seen = []
    assert result.get(callback=lambda task_id, value: seen.append((task_id, value))) == 2
    assert seen == [(unique, 2)]

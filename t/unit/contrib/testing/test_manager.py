"""Manager helpers: polling, joining results and reading worker task states."""
from __future__ import annotations

import io
from typing import Any, ClassVar

import pytest

from celery import states
from celery.contrib.testing.app import TestApp, setup_default_app
from celery.contrib.testing.manager import Manager, Sentinel
from celery.contrib.testing.worker import start_worker


class FakeInspect:
    """Replies like ``app.control.inspect().query_task`` of two workers."""

    def __init__(self, replies: dict[str, Any]) -> None:
        self.replies = replies

    def query_task(self, *ids: str) -> dict[str, Any]:
        return {host: {i: v for i, v in reply.items() if i in ids}
                for host, reply in self.replies.items()}


class FakeManager(Manager):
    """A Manager whose workers are described by ``replies``."""

    replies: ClassVar[dict[str, Any]] = {}

    def inspect(self, timeout: float = 3.0) -> FakeInspect:
        return FakeInspect(self.replies)


@pytest.fixture
def manager(unique: str) -> Manager:
    return Manager(TestApp(f'mgr-{unique}'), stdout=io.StringIO(), stderr=io.StringIO())


def test_wait_for_retries_until_success(manager: Manager) -> None:
    calls = iter([KeyError(), KeyError(), 'done'])

    def flaky() -> str:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert manager.wait_for(flaky, (KeyError,), interval_start=0, interval_step=0,
                            emit_warning=True) == 'done'
    assert 'Still waiting for thing' in manager.stderr.getvalue()


def test_wait_for_gives_up_after_max_retries(manager: Manager) -> None:
    def never() -> None:
        raise KeyError('nope')

    with pytest.raises(KeyError):
        manager.wait_for(never, (KeyError,), max_retries=2, interval_start=0, interval_step=0)


def test_ensure_not_for_a_while(manager: Manager) -> None:
    def never() -> None:
        raise Sentinel()

    manager.ensure_not_for_a_while(never, (Sentinel,), max_retries=2, interval_start=0,
                                   interval_step=0)
    with pytest.raises(AssertionError, match='Should not have happened: it'):
        manager.ensure_not_for_a_while(lambda: True, (Sentinel,), desc='it')


def test_true_or_raise(manager: Manager) -> None:
    assert manager.true_or_raise(lambda x: x, 5) == 5
    with pytest.raises(Sentinel):
        manager.true_or_raise(list)


def test_remark_prints(manager: Manager) -> None:
    manager.remark('hello', '!')
    assert manager.stdout.getvalue() == '!hello\n'


def test_query_task_states_groups_ids_by_state(unique: str) -> None:
    m = FakeManager(TestApp(f'mgr-{unique}'))
    m.replies = {'w1': {'a': ['active', {}], 'b': ['reserved', {}]},
                 'w2': {'c': ['ready', {}]}}
    found = m.query_task_states(['a', 'b', 'c'])
    assert found == {'active': {'a'}, 'reserved': {'b'}, 'ready': {'c'}}
    assert m.is_received(['a', 'b', 'c'])
    assert not m.is_accepted(['a', 'b'])
    assert m.is_accepted(['a', 'c'])
    assert m.assert_received(['a', 'b'], max_retries=1)
    with pytest.raises(Sentinel):
        m.assert_accepted(['b'], max_retries=1, interval_start=0)


def test_is_result_task_in_progress(manager: Manager) -> None:
    class R:
        def __init__(self, state: str) -> None:
            self.state = state

    assert manager.is_result_task_in_progress([R(states.STARTED), R(states.SUCCESS)])
    assert not manager.is_result_task_in_progress([R(states.PENDING)])


def test_join_and_result_state_with_a_real_worker(manager: Manager) -> None:
    app = manager.app

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    with setup_default_app(app), start_worker(app):
        results = [add.delay(i, i) for i in range(3)]
        manager.join(app.ResultSet(results), timeout=5)
        assert [r.result for r in results] == [0, 2, 4]
        single = add.delay(1, 1)
        manager.join(single, timeout=5)
        assert single.result == 2
        assert manager.assert_result_tasks_in_progress_or_completed(results)
        assert manager.missing_results(results) == []


def test_join_reports_missing_results(manager: Manager) -> None:
    result = manager.app.AsyncResult('never-sent')
    with pytest.raises(AssertionError, match='Missing task results'):
        manager.join(result, max_retries=2, timeout=0.05)
    assert 'Still waiting for 1/1: [never-sent]' in manager.stdout.getvalue()


def test_no_join_skips_waiting(unique: str) -> None:
    m = Manager(TestApp(f'mgr-{unique}'), no_join=True)
    assert m.join(m.app.AsyncResult('x')) is None

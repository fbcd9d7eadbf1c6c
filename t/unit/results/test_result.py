"""AsyncResult, ResultSet, GroupResult and EagerResult behaviour on the in-memory backend."""
from __future__ import annotations

import pickle
import threading
import time

import pytest

from celery import states
from celery.exceptions import IncompleteStream, TimeoutError
from celery.result import (AsyncResult, EagerResult, GroupResult, ResultSet,
                           allow_join_result, assert_will_not_block, denied_join_result,
                           result_from_tuple)


@pytest.fixture
def backend(app):
    return app.backend


def test_unknown_id_is_pending(app, unique) -> None:
    result = app.AsyncResult(unique)
    assert result.state == states.PENDING == result.status
    assert result.result is None and not result.ready() and not result.exists()


def test_success(app, backend, unique) -> None:
    backend.mark_as_done(unique, {'v': 1})
    result = app.AsyncResult(unique)
    assert result.get(timeout=1) == {'v': 1}
    assert result.successful() and result.ready() and not result.failed()
    assert result.date_done is not None and result.date_done.tzinfo is not None


def test_failure_propagates_original_type(app, backend, unique) -> None:
    backend.mark_as_failure(unique, KeyError('missing'), traceback='Traceback: x')
    result = app.AsyncResult(unique)
    with pytest.raises(KeyError):
        result.get(timeout=1)
    assert isinstance(result.get(propagate=False), KeyError)
    assert result.failed() and result.traceback == 'Traceback: x'


def test_revoked_propagates(app, backend, unique) -> None:
    from celery.exceptions import TaskRevokedError
    backend.mark_as_revoked(unique, reason='expired')
    with pytest.raises(TaskRevokedError):
        app.AsyncResult(unique).get(timeout=1)


def test_retry_and_custom_states_are_not_ready(app, backend, unique) -> None:
    backend.mark_as_retry(unique, ValueError('again'))
    result = app.AsyncResult(unique)
    assert result.state == states.RETRY and isinstance(result.result, ValueError)
    backend.store_result(unique, {'done': 3}, 'PROGRESS')
    assert result.state == 'PROGRESS' and result.info == {'done': 3}
    assert not result.ready()


def test_started_meta(app, backend, unique) -> None:
    backend.mark_as_started(unique, pid=1, hostname='h')
    assert app.AsyncResult(unique).result == {'pid': 1, 'hostname': 'h'}


def test_get_times_out(app, unique) -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        app.AsyncResult(unique).get(timeout=0.2, interval=0.05)
    assert time.monotonic() - start < 1


def test_get_waits_for_late_result(app, backend, unique) -> None:
    threading.Timer(0.1, backend.mark_as_done, (unique, 5)).start()
    assert app.AsyncResult(unique).get(timeout=3, interval=0.02) == 5


def test_get_inside_task_is_refused(app, backend, unique) -> None:
    backend.mark_as_done(unique, 1)
    with denied_join_result():
        with pytest.raises(RuntimeError, match='Never call result.get'):
            app.AsyncResult(unique).get()
        with pytest.raises(RuntimeError):
            assert_will_not_block()
        with allow_join_result():
            assert app.AsyncResult(unique).get() == 1
        assert app.AsyncResult(unique).get(disable_sync_subtasks=False) == 1


def test_forget(app, backend, unique) -> None:
    backend.mark_as_done(unique, 1)
    result = app.AsyncResult(unique)
    assert result.get() == 1
    result.forget()
    assert app.AsyncResult(unique).state == states.PENDING


def test_extended_fields(app, backend, unique) -> None:
    from types import SimpleNamespace
    app.conf.result_extended = True
    request = SimpleNamespace(task='t.add', args=[1, 2], kwargs={'x': 1}, hostname='w1',
                              retries=2, delivery_info={'routing_key': 'q1'}, group=None,
                              parent_id=None, chord=None, ignore_result=False, children=[])
    backend.mark_as_done(unique, 3, request=request)
    result = app.AsyncResult(unique)
    assert (result.name, result.args, result.kwargs, result.worker, result.retries,
            result.queue) == ('t.add', [1, 2], {'x': 1}, 'w1', 2, 'q1')


def test_equality_hash_pickle(app, unique) -> None:
    result = app.AsyncResult(unique)
    assert result == unique and result == app.AsyncResult(unique) and hash(result) == hash(unique)
    assert result != app.AsyncResult('other')
    assert pickle.loads(pickle.dumps(AsyncResult(unique, app=app))) == result


def test_tuple_round_trip(app) -> None:
    parent = app.AsyncResult('p')
    child = app.AsyncResult('c', parent=parent)
    assert child.as_tuple() == (('c', (('p', None), None)), None)
    restored = result_from_tuple(child.as_tuple(), app)
    assert restored == child and restored.parent == parent
    assert child.as_list() == ['c', 'p']
    group = app.GroupResult('g', [child, app.AsyncResult('d')])
    assert group.as_tuple() == (('g', None), [child.as_tuple(), (('d', None), None)])
    assert result_from_tuple(group.as_tuple(), app) == group


def test_tuple_of_a_result_whose_parent_is_an_empty_group(app) -> None:
    # An empty GroupResult without id is falsy, but it is still the parent:
    # its tuple is serialized, never the GroupResult object itself.
    empty = app.GroupResult(None, [])
    assert not empty
    child = app.AsyncResult('c', parent=empty)
    assert child.as_tuple() == (('c', ((None, None), [])), None)
    group = app.GroupResult('g', [], parent=empty)
    assert group.as_tuple() == (('g', ((None, None), [])), [])


def test_group_without_id_is_not_saved(app) -> None:
    # It could never be restored by id: saving says so instead of storing it under "None".
    group = app.GroupResult(None, [app.AsyncResult('a')])
    with pytest.raises(ValueError, match='without id'):
        group.save()
    group.delete()  # nothing stored, nothing to delete


def test_failed_join_report_skips_nested_groups(app, backend, unique, monkeypatch) -> None:
    # A nested group has no state of its own: only its task members can be culprits.
    backend.mark_as_failure(unique, KeyError('x'))
    failed = app.AsyncResult(unique)
    nested = app.GroupResult(unique + '-group', [])
    monkeypatch.setattr(backend, 'is_cached', lambda task_id: True)  # as after a join
    outer = app.ResultSet([nested, failed])
    assert list(outer._failed_join_report()) == [failed]


def test_as_list_walks_a_group_parent(app) -> None:
    # A chord body's parent is the header's group result.
    header = app.GroupResult('g', [app.AsyncResult('a')], parent=app.AsyncResult('first'))
    body = app.AsyncResult('body', parent=header)
    assert body.as_list() == ['body', 'g', 'first']


def test_children_and_iterdeps(app, backend, unique) -> None:
    from types import SimpleNamespace
    kid = app.AsyncResult(unique + 'kid')
    request = SimpleNamespace(children=[kid], group=None, parent_id=None, chord=None,
                              ignore_result=False)
    backend.mark_as_done(unique, 'root', request=request)
    root = app.AsyncResult(unique)
    assert root.children == [kid]
    with pytest.raises(IncompleteStream):
        list(root.iterdeps())
    backend.mark_as_done(kid.id, 'leaf')
    assert [v for _, v in root.collect()] == ['root', 'leaf']
    assert root.get_leaf() == 'leaf'
    assert set(root.build_graph()) == {root, kid}


def test_parent_failure_raises_first(app, backend, unique) -> None:
    backend.mark_as_failure(unique + 'p', ValueError('parent'))
    backend.mark_as_done(unique, 1)
    child = app.AsyncResult(unique, parent=app.AsyncResult(unique + 'p'))
    with pytest.raises(ValueError, match='parent'):
        child.get()
    assert child.get(follow_parents=False) == 1


def test_ignored_result(app, unique) -> None:
    result = app.AsyncResult(unique)
    result.ignored = True
    assert result.get() is None


def test_result_set_and_group(app, backend, unique) -> None:
    ids = [f'{unique}-{i}' for i in range(3)]
    for i, task_id in enumerate(ids):
        backend.mark_as_done(task_id, i)
    group = app.GroupResult(unique, [app.AsyncResult(i) for i in ids])
    assert group.get(timeout=1) == [0, 1, 2] and group.join(timeout=1) == [0, 1, 2]
    assert group.ready() and group.successful() and group.completed_count() == 3
    assert len(group) == 3 and group[0].id == ids[0]
    group.save()
    restored = GroupResult.restore(unique, app=app)
    assert restored == group and app.GroupResult.restore(unique) == group
    group.delete()
    assert app.GroupResult.restore(unique) is None
    results = ResultSet([app.AsyncResult(ids[0])], app=app)
    results.add(app.AsyncResult(ids[1]))
    results.discard(app.AsyncResult('nope'))
    results.remove(ids[0])
    assert [r.id for r in results] == [ids[1]]


def test_group_with_failure(app, backend, unique) -> None:
    backend.mark_as_done(unique + 'a', 1)
    backend.mark_as_failure(unique + 'b', KeyError('b'))
    group = app.GroupResult(unique, [app.AsyncResult(unique + 'a'),
                                     app.AsyncResult(unique + 'b')])
    assert group.failed()
    with pytest.raises(KeyError):
        group.get(timeout=1)
    values = group.get(timeout=1, propagate=False)
    assert values[0] == 1 and isinstance(values[1], KeyError)


def test_join_timeout(app, unique) -> None:
    group = app.GroupResult(unique, [app.AsyncResult(unique + 'x')])
    with pytest.raises(TimeoutError):
        group.join(timeout=0.1, interval=0.02)


def test_eager_result() -> None:
    ok = EagerResult('id1', 5, states.SUCCESS)
    assert ok.get() == 5 and ok.ready() and ok.successful()
    failed = EagerResult('id2', KeyError('x'), states.FAILURE, traceback='tb')
    with pytest.raises(KeyError):
        failed.get()
    assert isinstance(failed.get(propagate=False), KeyError) and failed.traceback == 'tb'
    assert pickle.loads(pickle.dumps(ok)).get() == 5
    seen = []
    ok.then(seen.append)
    assert seen == [ok]


def test_then_fires_on_ready(app, backend, unique) -> None:
    backend.mark_as_done(unique, 'v')
    seen = []
    result = app.AsyncResult(unique)
    result.then(lambda r: seen.append(r.result))
    result.get()
    assert seen == ['v']

"""celery.result names Celery code uses, and worker tracebacks re-raised in the client."""
from __future__ import annotations

import traceback

import pytest

import celery.result
from celery import states
from celery.result import AsyncResult, GroupResult, ResultSet

REMOTE_TRACEBACK = '''\
Traceback (most recent call last):
  File "/srv/worker/tasks.py", line 10, in divide
    return x / y
ZeroDivisionError: division by zero
'''


def test_module_names():
    from celery import current_app
    from celery.result.guards import E_WOULDBLOCK
    assert celery.result.current_app is current_app
    assert celery.result.E_WOULDBLOCK == E_WOULDBLOCK
    assert E_WOULDBLOCK.startswith('Never call result.get() within a task!')


def test_tblib_is_the_module_when_installed():
    tblib = pytest.importorskip('tblib')
    assert celery.result.tblib is tblib


def test_class_attributes():
    assert AsyncResult.id is None
    assert (GroupResult.id, GroupResult.results, ResultSet.results) == (None, None, None)


def test_instances_keep_their_own_values(app):
    group = GroupResult('gid', [AsyncResult('a', app=app)], app=app)
    assert group.id == 'gid' and [r.id for r in group.results] == ['a']


def test_get_accepts_state_sets(app):
    app.backend.mark_as_done('done-id', 42)
    result = AsyncResult('done-id', app=app)
    assert result.get(EXCEPTION_STATES=states.EXCEPTION_STATES,
                      PROPAGATE_STATES=states.PROPAGATE_STATES, timeout=1) == 42


class test_remote_tracebacks:

    @pytest.fixture
    def failed(self, app, unique):
        task_id = f'failed-{unique}'
        app.backend.mark_as_failure(task_id, ZeroDivisionError('division by zero'),
                                    traceback=REMOTE_TRACEBACK)
        return AsyncResult(task_id, app=app)

    def raised_frames(self, result):
        with pytest.raises(ZeroDivisionError) as caught:
            result.get(timeout=1, disable_sync_subtasks=False)
        return [frame.filename for frame in traceback.extract_tb(caught.value.__traceback__)]

    def test_on_the_workers_frames_follow_the_clients(self, app, failed):
        pytest.importorskip('tblib')
        app.conf.task_remote_tracebacks = True
        frames = self.raised_frames(failed)
        assert frames[-1] == '/srv/worker/tasks.py'
        assert any(name.endswith('async_result.py') for name in frames)

    def test_off_by_default(self, app, failed):
        assert '/srv/worker/tasks.py' not in self.raised_frames(failed)

    def test_unreadable_text_leaves_the_exception_alone(self):
        from celery.result.remote_traceback import with_remote_traceback
        exc = ValueError('x')
        assert with_remote_traceback(exc, 'not a traceback') is exc
        assert with_remote_traceback(exc, None) is exc
        assert exc.__traceback__ is None

"""The tracer's outcomes: rejected, ignored, retried, unencodable and internal errors."""
from __future__ import annotations

import pytest
from billiard.einfo import ExceptionInfo
from kombu.exceptions import EncodeError

from celery import signals, states
from celery.app.trace import build_tracer
from celery.exceptions import Ignore, Reject, Retry
from celery.utils import uuid


def _run(task, eager=True, task_id=None, **opts):
    # Unique ids: the in-memory result store is shared by every app of the process.
    task_id = task_id or uuid()
    tracer = build_tracer(task.name, task, eager=eager, app=task.app, **opts)
    return tracer(task_id, [], {}, {'id': task_id})


@pytest.fixture
def calls():
    """``after_return`` and ``task_postrun`` calls, in order."""
    seen: list[tuple] = []

    def postrun(sender=None, state=None, retval=None, **kwargs):
        seen.append(('postrun', state, type(retval)))

    signals.task_postrun.connect(postrun, weak=False)
    yield seen
    signals.task_postrun.disconnect(postrun)


def _task_raising(app, exc, seen):
    class Recording(app.Task):
        def after_return(self, status, retval, task_id, args, kwargs, einfo):
            seen.append(('after_return', status))

        def on_retry(self, exc, task_id, args, kwargs, einfo):
            seen.append(('on_retry', type(exc)))

    @app.task(base=Recording, shared=False)
    def raising():
        raise exc
    return raising


@pytest.mark.parametrize('exc,state', [
    (Reject('bad message', requeue=False), states.REJECTED),
    (Ignore(), states.IGNORED),
])
def test_reject_and_ignore_end_quietly(app, calls, exc, state):
    task = _task_raising(app, exc, calls)
    retval, info, runtime, retstr = _run(task, propagate=True)
    assert info.state == state and info.retval is exc
    assert isinstance(retval, ExceptionInfo) and retval.internal
    assert (runtime, retstr) == (None, None)
    # No after_return for these states; postrun sees the exception.
    assert calls == [('postrun', state, type(exc))]
    # The frames of the task body are cleared (the tracer's own is still running).
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_name == 'raising' and tb.tb_frame.f_locals == {}


def test_reject_is_logged_as_a_warning(app, calls, caplog):
    task = _task_raising(app, Reject('bad message', requeue=False), calls)
    with caplog.at_level('INFO', logger='celery.app.trace'):
        _run(task, task_id='tid-reject')
    [record] = [r for r in caplog.records if r.name == 'celery.app.trace']
    assert record.levelname == 'WARNING'
    assert record.getMessage() == f'Task {task.name}[tid-reject] reject requeue=False: bad message'


def test_retry_records_retry_state_without_errbacks(app, calls):
    exc = Retry('again', exc=KeyError('cause'), when=1)
    task = _task_raising(app, exc, calls)
    retval, info, runtime, _ = _run(task)
    assert info.state == states.RETRY and info.retval is exc
    assert isinstance(retval, ExceptionInfo) and retval.type is Retry
    assert runtime is None
    assert calls == [('on_retry', KeyError), ('postrun', states.RETRY, Retry)]


def test_retry_propagates_when_asked(app, calls):
    task = _task_raising(app, Retry('again', when=1), calls)
    with pytest.raises(Retry):
        _run(task, propagate=True)


def test_failure_calls_after_return(app, calls):
    task = _task_raising(app, KeyError('k'), calls)
    retval, info, _, _ = _run(task)
    assert info.state == states.FAILURE and isinstance(retval, ExceptionInfo)
    assert calls == [('after_return', states.FAILURE), ('postrun', states.FAILURE, KeyError)]


def test_unencodable_result_is_a_failure(app, calls, monkeypatch):
    @app.task(shared=False)
    def returns_set():
        return {1, 2}

    def refuse(*args, **kwargs):
        raise EncodeError('cannot encode a set')
    monkeypatch.setattr(app.backend, 'mark_as_done', refuse)
    monkeypatch.setattr(app.backend, 'mark_as_failure', lambda *args, **kwargs: None)
    retval, info, runtime, retstr = _run(returns_set, eager=False)
    assert info.state == states.FAILURE and isinstance(info.retval, EncodeError)
    assert isinstance(retval, ExceptionInfo)
    assert (runtime, retstr) == (None, None)
    assert calls == [('postrun', states.FAILURE, EncodeError)]


def test_error_after_success_keeps_runtime_and_repr(app, calls, monkeypatch):
    class FailingSuccess(app.Task):
        def on_success(self, retval, task_id, args, kwargs):
            raise RuntimeError('handler broke')

    @app.task(base=FailingSuccess, shared=False)
    def fine():
        return 42

    monkeypatch.setattr(app.backend, 'mark_as_failure', lambda *args, **kwargs: None)
    with pytest.warns(RuntimeWarning, match='Exception raised outside body'):
        retval, info, runtime, retstr = _run(fine, eager=False)
    assert isinstance(retval, ExceptionInfo) and retval.internal
    assert info.state == states.FAILURE and isinstance(info.retval, RuntimeError)
    assert runtime is not None and retstr == '42'
    # postrun ran before the error reached the tracer: it saw the success.
    assert calls == [('postrun', states.SUCCESS, int)]


def test_internal_error_before_the_request_leaves_no_info(app):
    @app.task(shared=False)
    def fine():
        return 1

    tracer = build_tracer(fine.name, fine, app=app)
    task_id = uuid()
    with pytest.warns(RuntimeWarning, match='not a mapping'):
        retval, info, runtime, retstr = tracer(task_id, [], None, {'id': task_id})
    assert retval.internal and (info, runtime, retstr) == (None, None, None)


def test_eager_internal_error_is_raised(app, monkeypatch):
    @app.task(shared=False)
    def fine():
        return 1

    def broken(*args, **kwargs):
        raise RuntimeError('store broke')
    monkeypatch.setattr(app.backend, 'mark_as_done', broken)
    with pytest.raises(RuntimeError, match='store broke'):
        _run(fine, eager=True)


def test_memory_error_outside_the_body_is_not_handled(app, monkeypatch):
    @app.task(shared=False)
    def fine():
        return 1

    seen = []

    @signals.task_internal_error.connect(weak=False)
    def on_internal_error(sender=None, **kwargs):
        seen.append(sender)

    def exhausted(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(app.backend, 'mark_as_done', exhausted)
    try:
        with pytest.raises(MemoryError):
            _run(fine, eager=False)
    finally:
        signals.task_internal_error.disconnect(on_internal_error)
    assert seen == []


def test_memory_error_in_the_body_is_a_failure(app, monkeypatch):
    @app.task(shared=False)
    def hungry():
        raise MemoryError()

    monkeypatch.setattr(app.backend, 'mark_as_failure', lambda *args, **kwargs: None)
    _, info, _, _ = _run(hungry, eager=False)
    assert info.state == states.FAILURE and isinstance(info.retval, MemoryError)


def test_redelivered_task_that_already_succeeded_is_skipped(app, monkeypatch):
    from celery.worker import state as worker_state

    ran = []

    @app.task(shared=False, acks_late=True)
    def once():
        ran.append(1)

    app.conf.worker_deduplicate_successful_tasks = True
    monkeypatch.setattr(type(app.backend), 'persistent', True, raising=False)
    task_id = uuid()
    worker_state.successful_requests.add(task_id)
    try:
        tracer = build_tracer(once.name, once, app=app)
        outcome = tracer(task_id, [], {}, {'id': task_id,
                                           'delivery_info': {'redelivered': True}})
    finally:
        worker_state.successful_requests.discard(task_id)
    assert tuple(outcome) == (None, None, None, None) and ran == []

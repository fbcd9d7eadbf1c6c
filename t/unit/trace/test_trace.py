"""The tracer: states, handlers and signals for one task execution (eager path)."""
from __future__ import annotations

import pytest

from celery import signals, states
from celery.app.trace import build_tracer, trace_task
from celery.exceptions import Ignore, Reject


def _trace(task, args=(), kwargs=None, request=None, **opts):
    tracer = build_tracer(task.name, task, eager=True, app=task.app, **opts)
    return tracer('tid-1', list(args), kwargs or {}, request or {'id': 'tid-1'})


def test_success_returns_value_and_runtime(app):
    @app.task
    def add(x, y):
        return x + y

    retval, info, runtime, retstr = _trace(add, (2, 3))
    assert (retval, info, retstr) == (5, None, '5')
    assert runtime >= 0


def test_failure_reports_failure_state(app):
    @app.task
    def boom():
        raise KeyError('x')

    retval, info, _, _ = _trace(boom)
    assert info.state == states.FAILURE
    assert isinstance(info.retval, KeyError)


def test_propagate_reraises(app):
    @app.task
    def boom():
        raise KeyError('x')

    with pytest.raises(KeyError):
        _trace(boom, propagate=True)


@pytest.mark.parametrize('exc, state', [(Ignore(), states.IGNORED),
                                        (Reject('no', requeue=False), states.REJECTED)])
def test_predicates(app, exc, state):
    @app.task
    def pred():
        raise exc

    _, info, _, _ = _trace(pred)
    assert info.state == state


def test_handlers_and_signals_are_called(app):
    calls = []

    class Base(app.Task):
        def before_start(self, task_id, args, kwargs):
            calls.append('before_start')

        def on_success(self, retval, task_id, args, kwargs):
            calls.append(('on_success', retval))

        def after_return(self, status, retval, task_id, args, kwargs, einfo):
            calls.append(('after_return', status))

    @app.task(base=Base)
    def ok():
        return 1

    def prerun(sender=None, task_id=None, **kw):
        calls.append(('prerun', task_id))

    def postrun(sender=None, state=None, retval=None, **kw):
        calls.append(('postrun', state, retval))

    signals.task_prerun.connect(prerun, weak=False)
    signals.task_postrun.connect(postrun, weak=False)
    try:
        _trace(ok)
    finally:
        signals.task_prerun.disconnect(prerun)
        signals.task_postrun.disconnect(postrun)
    assert calls == [('prerun', 'tid-1'), 'before_start', ('on_success', 1),
                     ('after_return', states.SUCCESS), ('postrun', states.SUCCESS, 1)]


def test_on_failure_handler_and_failure_signal(app):
    seen = []

    class Base(app.Task):
        def on_failure(self, exc, task_id, args, kwargs, einfo):
            seen.append(('on_failure', type(exc)))

    @app.task(base=Base)
    def boom():
        raise ValueError('v')

    def on_failure_signal(sender=None, exception=None, **kw):
        seen.append(('signal', type(exception)))

    signals.task_failure.connect(on_failure_signal, weak=False)
    try:
        _trace(boom)
    finally:
        signals.task_failure.disconnect(on_failure_signal)
    assert seen == [('on_failure', ValueError), ('signal', ValueError)]


def test_request_context_is_visible_to_the_task(app):
    @app.task(bind=True)
    def who(self):
        return self.request.id, self.request.retries

    retval, _, _, _ = _trace(who, request={'id': 'tid-1', 'retries': 3})
    assert retval == ('tid-1', 3)


def test_non_mapping_kwargs_is_an_error(app):
    @app.task
    def ok():
        return 1

    tracer = build_tracer(ok.name, ok, eager=False, app=app)
    with pytest.warns(RuntimeWarning, match='not a mapping'):
        retval, _, _, _ = tracer('tid-2', [], ['not', 'a', 'mapping'], {'id': 'tid-2'})
    assert retval.internal


def test_trace_task_builds_tracer_once(app):
    @app.task
    def ok():
        return 'x'

    ok.__trace__ = None
    assert trace_task(ok, 'tid-3', [], {}, {'id': 'tid-3'}, eager=True).retval == 'x'
    assert ok.__trace__ is not None


def test_error_outside_the_body_sends_task_internal_error(app):
    @app.task
    def fine():
        return 1

    def broken_store(*args, **kwargs):
        raise RuntimeError('backend exploded')

    fine.backend.mark_as_done = broken_store
    seen = []

    @signals.task_internal_error.connect(sender=fine, weak=False)
    def on_internal_error(sender, task_id, exception, einfo, **kwargs):
        seen.append((sender, task_id, exception, einfo.type))

    try:
        with pytest.warns(RuntimeWarning, match='Exception raised outside body'):
            retval, info, _, _ = build_tracer(fine.name, fine, app=app)(
                'tid-2', [], {}, {'id': 'tid-2'})
    finally:
        signals.task_internal_error.disconnect(on_internal_error, sender=fine)
    assert info.state == states.FAILURE
    [(sender, task_id, exception, exc_type)] = seen
    assert (sender, task_id, exc_type) == (fine, 'tid-2', RuntimeError)
    assert str(exception) == 'backend exploded'


def test_worker_optimizations_build_each_tracer_on_first_use(app):
    from celery.app.trace import fast_trace_task, reset_worker_optimizations, setup_worker_optimizations

    @app.task(ignore_result=True)
    def first_use():
        return 'ran'

    first_use.__trace__ = build_tracer(first_use.name, first_use, app=app)
    setup_worker_optimizations(app, 'w@host')
    try:
        # Inherited tracers are dropped (they hold the parent's pid); none is built yet.
        assert all(task.__trace__ is None for task in app.tasks.values())
        failed, retval, _ = fast_trace_task(first_use.name, 'tid-9', {'id': 'tid-9'},
                                            '[[], {}, {}]', 'application/json', 'utf-8')
        assert (failed, retval) == (0, "'ran'")
        assert first_use.__trace__ is not None
        assert [t for t in app.tasks.values() if t.__trace__ is not None] == [first_use]
    finally:
        reset_worker_optimizations(app)

"""Trace task execution: run a task, store its state, call callbacks and signals.

:func:`build_tracer` turns a task into a ``trace(uuid, args, kwargs, request)``
function that is built once per task type, so that everything which can be
looked up ahead of time (handlers, signal receivers, backend methods) is
resolved before the first message arrives.  How the outcome is logged, and
the states other than success stored, is :mod:`celery.app.trace_report`.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, NamedTuple
from warnings import warn

from billiard.einfo import ExceptionInfo
from kombu.exceptions import EncodeError

from celery import signals
from celery._state import _task_stack, current_app  # noqa: F401
from celery.app.body import load_body as loads_message
from celery.exceptions import (
    BackendGetMetaError,
    Ignore,
    InvalidTaskError,
    Reject,
    Retry,
)
from celery.states import (  # noqa: F401 -- EXCEPTION_STATES is importable from here
    EXCEPTION_STATES,
    FAILURE,
    IGNORED,
    REJECTED,
    RETRY,
    STARTED,
    SUCCESS,
)
from celery.app.publish_retry import worker_retry_policy
from celery.app.trace_report import (  # noqa: F401 -- Celery's names, importable from here
    LOG_FAILURE,
    LOG_IGNORED,
    LOG_INTERNAL_ERROR,
    LOG_RECEIVED,
    LOG_REJECTED,
    LOG_RETRY,
    LOG_SUCCESS,
    TraceInfo,
    get_log_policy,
    get_task_name,
    info,
    log_policy_expected,
    log_policy_ignore,
    log_policy_internal,
    log_policy_reject,
    log_policy_t,
    log_policy_unexpected,
)
from celery.utils.lazy_names import lazy_module_getattr
from celery.utils.log import get_logger
from celery.utils.nodenames import gethostname
from celery.utils.saferepr import saferepr
from celery.utils.serialization import prepare_accept_content

if TYPE_CHECKING:
    from celery._protocol import TaskBody
    from celery.app.base import Celery
    from celery.app.context import Context
    from celery.app.task import Task
    from celery.loaders.base import BaseLoader

__all__ = (
    'TraceInfo', 'build_tracer', 'trace_task', 'trace_task_ret', 'fast_trace_task',
    'setup_worker_optimizations', 'reset_worker_optimizations', 'report_internal_error',
    'traceback_clear', 'get_log_policy', 'trace_ok_t',
)

logger = get_logger(__name__)

#: States after which ``after_return`` is not called.
IGNORE_STATES = frozenset({IGNORED, RETRY, REJECTED})


class trace_ok_t(NamedTuple):
    """What a tracer returns: the return value, error info, runtime and result repr."""

    #: The return value; the :class:`ExceptionInfo` of a call that did not succeed.
    retval: object
    info: TraceInfo | None
    runtime: float | None
    retstr: str | None


_TraceOk = trace_ok_t  # the name as build_tracer's body sees it (a parameter hides it)

#: ``[tasks, accept, hostname]`` cached for :func:`fast_trace_task` in the worker.
_localized: list[Any] = []


def task_has_custom(task: object, attr: str) -> bool:
    """Return True when ``task`` (or a base class below ``Task``) overrides ``attr``."""
    for cls in task.__class__.__mro__:
        if cls.__module__ == 'celery.app.task' and cls.__name__ == 'Task':
            return False
        if attr in cls.__dict__:
            return True
    return False


def traceback_clear(exc: BaseException | None = None) -> None:
    """Drop frame locals held by a traceback so large objects are freed early."""
    tb = exc.__traceback__ if exc is not None else sys.exc_info()[2]
    while tb is not None:
        try:
            tb.tb_frame.clear()
        except RuntimeError:
            pass  # the frame is still executing
        tb = tb.tb_next


def _apply_callbacks(app: Celery, callbacks: list[dict[str, Any]], retval: object, uuid: str,
                     root_id: str, priority: int | None) -> None:
    from celery.canvas import group, maybe_signature
    # (A message never carries None for a callback: the filter is for the checker.)
    sigs = [sig for sig in (maybe_signature(each, app=app) for each in callbacks)
            if sig is not None]
    opts: dict[str, Any] = {'parent_id': uuid, 'root_id': root_id, 'priority': priority,
            'retry_policy': worker_retry_policy(app)}
    if len(sigs) == 1:
        sigs[0].apply_async((retval,), **opts)
        return
    plain = []
    for sig in sigs:
        if isinstance(sig, group):
            sig.apply_async((retval,), **opts)
        else:
            plain.append(sig)
    if plain:
        group(plain, app=app).apply_async((retval,), **opts)


def _apply_chain(app: Celery, chain: list[dict[str, Any]], retval: object, uuid: str,
                 root_id: str,
                 priority: int | None) -> None:
    from celery.canvas import maybe_signature
    # The remaining chain is stored in reverse order: the next step is last.
    next_step = maybe_signature(chain.pop(), app=app)
    if next_step is None:
        raise InvalidTaskError('The chain of the task message has an empty step')
    next_step.apply_async((retval,), chain=chain, parent_id=uuid, root_id=root_id,
                          priority=priority, retry_policy=worker_retry_policy(app))


def build_tracer(name: str, task: Task[..., Any], loader: BaseLoader | None = None,
                 hostname: str | None = None, store_errors: bool = True,
                 Info: type[TraceInfo] = TraceInfo, eager: bool = False,
                 propagate: bool = False, app: Celery | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 trace_ok_t: type[trace_ok_t] = trace_ok_t,
                 IGNORE_STATES: frozenset[str] = IGNORE_STATES) -> Callable[..., trace_ok_t]:
    """Return a function that traces one execution of ``task``."""
    from celery.app.task import Context
    app = app or task.app
    fun = task if task_has_custom(task, '__call__') else task.run
    loader = loader or app.loader
    ignore_result = task.ignore_result
    track_started = not eager and task.track_started and not ignore_result
    store_eager = eager and not ignore_result and getattr(task, 'store_eager_result', False)
    publish_result = store_eager or (not eager and not ignore_result)
    deduplicate = bool(
        (app.conf.task_acks_late or task.acks_late)
        and app.conf.worker_deduplicate_successful_tasks
        and getattr(app.backend, 'persistent', False)
    )
    hostname = hostname or gethostname()
    inherit_parent_priority = app.conf.task_inherit_parent_priority
    loader_task_init = loader.on_task_init
    loader_cleanup = loader.on_process_cleanup
    before_start = task.before_start if task_has_custom(task, 'before_start') else None
    on_success = task.on_success if task_has_custom(task, 'on_success') else None
    after_return = task.after_return if task_has_custom(task, 'after_return') else None
    pid = os.getpid()
    requests = task._requests()
    push_request, pop_request = requests.push, requests.pop
    push_task, pop_task = _task_stack.push, _task_stack.pop
    does_info = logger.isEnabledFor(logging.INFO)
    resultrepr_maxsize = task.resultrepr_maxsize
    send_prerun, send_postrun = signals.task_prerun.send, signals.task_postrun.send
    send_success = signals.task_success.send
    prerun, postrun, success = signals.task_prerun, signals.task_postrun, signals.task_success

    def on_error(request: Context, exc: BaseException, state: str = FAILURE,
                 call_errbacks: bool = True) -> tuple[TraceInfo, ExceptionInfo]:
        if propagate:
            raise  # an eager caller asked for the exception itself
        trace_info = Info(state, exc)
        einfo = trace_info.handle_error_state(task, request, eager=eager,
                                              call_errbacks=call_errbacks)
        return trace_info, einfo

    def on_body_error(request: Context, exc: BaseException) -> tuple[TraceInfo, ExceptionInfo]:
        # What an exception raised by the task's body makes of the call.
        if isinstance(exc, Reject):
            trace_info = Info(REJECTED, exc)
            trace_info.handle_reject(task, request)
        elif isinstance(exc, Ignore):
            trace_info = Info(IGNORED, exc)
            trace_info.handle_ignore(task, request)
        elif isinstance(exc, Retry):
            return on_error(request, exc, RETRY, call_errbacks=False)
        else:
            return on_error(request, exc)
        # Rejected or ignored: nothing stored, never propagated.  The worker
        # finds the predicate in this info and rejects or acks the message.
        return trace_info, ExceptionInfo(internal=True)

    def on_internal_error(task_request: Context | None, uuid: str, args: Sequence[Any],
                          kwargs: Mapping[str, Any], request: Mapping[str, Any] | None,
                          exc: BaseException,
                          ) -> tuple[ExceptionInfo, TraceInfo | None]:
        # Raised outside the task's body: by Celery, a handler or a signal receiver.
        _signal_internal_error(task, uuid, args, kwargs, request, exc)
        if eager:
            raise
        einfo = report_internal_error(task, exc)
        if task_request is None:
            return einfo, None  # the message itself was bad: there is no request
        return einfo, on_error(task_request, exc)[0]

    def already_succeeded(request: Context) -> bool:
        from celery.worker.state import successful_requests
        if request.id is None:
            return False  # (a worker's request always has its id)
        if request.id in successful_requests:
            return True
        try:
            state = app.AsyncResult(request.id).state
        except BackendGetMetaError:
            return False
        if state == SUCCESS:
            info(LOG_IGNORED, {'id': request.id, 'name': get_task_name(request, name),
                               'description': 'Task already completed successfully.'})
            return True
        return False

    def trace_task(uuid: str, args: Sequence[Any], kwargs: Mapping[str, Any],
                   request: Mapping[str, Any] | None = None) -> _TraceOk:
        # ``outcome`` is what the pool reports: the return value, or the
        # ExceptionInfo of a call that did not succeed (``trace_info`` says how).
        outcome: object = None
        trace_info: TraceInfo | None = None
        runtime: float | None = None
        result_repr: str | None = None
        retval: object = None
        state: str | None = None
        task_request: Context | None = None
        time_start = monotonic()
        try:
            if not hasattr(kwargs, 'items'):
                raise InvalidTaskError('Task keyword arguments is not a mapping')
            task_request = Context(request or {}, args=args, called_directly=False,
                                   kwargs=kwargs)
            delivery_info = task_request.delivery_info or {}
            if deduplicate and delivery_info.get('redelivered') and \
                    already_succeeded(task_request):
                return trace_ok_t(None, None, None, None)
            push_task(task)
            root_id = task_request.root_id or uuid
            priority = delivery_info.get('priority') if inherit_parent_priority else None
            push_request(task_request)
            try:
                if prerun.receivers:
                    send_prerun(sender=task, task_id=uuid, task=task, args=args, kwargs=kwargs)
                loader_task_init(uuid, task)
                if track_started:
                    task.backend.store_result(uuid, {'pid': pid, 'hostname': hostname},
                                              STARTED, request=task_request)
                try:
                    if before_start:
                        before_start(uuid, args, kwargs)
                    outcome = retval = fun(*args, **kwargs)
                    state = SUCCESS
                except Exception as exc:
                    trace_info, outcome = on_body_error(task_request, exc)
                    state, retval = trace_info.state, trace_info.retval
                    traceback_clear(exc)
                else:
                    try:
                        # Callbacks go out before the result is stored so that
                        # ``result.children`` is complete once the state is ready.
                        callbacks = task_request.callbacks
                        if callbacks:
                            _apply_callbacks(app, callbacks, retval, uuid, root_id, priority)
                        chain = task_request.chain
                        if chain:
                            _apply_chain(app, chain, retval, uuid, root_id, priority)
                        task.backend.mark_as_done(uuid, retval, task_request, publish_result)
                    except EncodeError as exc:
                        trace_info, outcome = on_error(task_request, exc)
                        state, retval = trace_info.state, trace_info.retval
                    else:
                        result_repr = saferepr(retval, resultrepr_maxsize)
                        runtime = monotonic() - time_start
                        if on_success:
                            on_success(retval, uuid, args, kwargs)
                        if success.receivers:
                            send_success(sender=task, result=retval)
                        if does_info:
                            info(LOG_SUCCESS, {
                                'id': uuid, 'name': get_task_name(task_request, name),
                                'return_value': result_repr, 'runtime': runtime,
                                'args': task_request.get('argsrepr') or saferepr(args),
                                'kwargs': task_request.get('kwargsrepr') or saferepr(kwargs),
                            })
                if state not in IGNORE_STATES and after_return:
                    after_return(state, retval, uuid, args, kwargs, None)
            finally:
                try:
                    if postrun.receivers:
                        send_postrun(sender=task, task_id=uuid, task=task, args=args,
                                     kwargs=kwargs, retval=retval, state=state)
                finally:
                    pop_task()
                    pop_request()
                    if not eager:
                        _cleanup(task, loader_cleanup)
        except MemoryError:
            raise  # handling it here needs memory: leave it to the pool
        except Exception as exc:
            outcome, trace_info = on_internal_error(task_request, uuid, args, kwargs,
                                                    request, exc)
        return trace_ok_t(outcome, trace_info, runtime, result_repr)

    return trace_task


def _cleanup(task: Task[..., Any], loader_cleanup: Callable[[], object]) -> None:
    try:
        task.backend.process_cleanup()
        loader_cleanup()
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:
        logger.error('Process cleanup failed: %r', exc, exc_info=True)


def trace_task(task: Task[..., Any], uuid: str, args: Sequence[Any],
               kwargs: Mapping[str, Any], request: Mapping[str, Any] | None = None,
               **opts: Any) -> trace_ok_t:
    """Trace one execution of ``task``, building its tracer on first use."""
    try:
        tracer = task.__trace__
        if tracer is None:
            tracer = task.__trace__ = build_tracer(task.name or '', task, **opts)
        traced: trace_ok_t = tracer(uuid, args, kwargs, request)
        return traced
    except Exception as exc:
        _signal_internal_error(task, uuid, args, kwargs, request, exc)
        return trace_ok_t(report_internal_error(task, exc), TraceInfo(FAILURE, exc), 0.0, None)


def _signal_internal_error(task: Task[..., Any], uuid: str, args: Sequence[Any],
                           kwargs: Mapping[str, Any], request: Mapping[str, Any] | None,
                           exc: BaseException) -> None:
    """Send the ``task_internal_error`` signal for an error in Celery itself."""
    einfo = ExceptionInfo()
    try:
        signals.task_internal_error.send(
            sender=task, task_id=uuid, args=args, kwargs=kwargs, request=request,
            exception=exc, traceback=einfo.tb, einfo=einfo,
        )
    finally:
        del einfo


def report_internal_error(task: Task[..., Any], exc: BaseException) -> ExceptionInfo:
    """Warn about an error raised by Celery (not the task) and return its info."""
    _type, _, _tb = sys.exc_info()
    try:
        # With pickle the exception travels as it is (other serializers get a dict).
        prepared = task.backend.prepare_exception(exc, 'pickle')
        exc_info = ExceptionInfo((_type, prepared, _tb), internal=True)
        warn(RuntimeWarning(
            f'Exception raised outside body: {exc!r}:\n{exc_info.traceback}'))
        return exc_info
    finally:
        del _tb


def _load_body(loads: Callable[..., Any], body: Any, content_type: str | None,
               content_encoding: str | None, accept: set[str] | None
               ) -> tuple[Sequence[Any], Mapping[str, Any], Mapping[str, Any] | None]:
    # Any: the decoded body is checked below, item by item.
    if content_type:
        try:
            body = loads(body, content_type, content_encoding, accept=accept)
        except Exception as exc:
            # Reported by the parent's error callback, which rejects the message.
            raise InvalidTaskError(f'Cannot decode task message body: {exc!r}') from None
    try:
        args, kwargs, embed = body
    except (TypeError, ValueError):
        raise InvalidTaskError(
            f'Task message body is not [args, kwargs, embed]: {saferepr(body)}') from None
    if not isinstance(args, (list, tuple)) or not hasattr(kwargs, 'items') or \
            not (embed is None or hasattr(embed, 'items')):
        raise InvalidTaskError(
            f'Task message body has args {type(args).__name__}, kwargs '
            f'{type(kwargs).__name__}, embed {type(embed).__name__}: expected a list '
            f'and two mappings') from None
    return args, kwargs, embed


def trace_task_ret(name: str, uuid: str, request: dict[str, Any], body: bytes | str | TaskBody,
                   content_type: str | None, content_encoding: str | None,
                   loads: Callable[..., object] = loads_message, app: Celery | None = None,
                   **extra_request: Any) -> tuple[int, object, float | None]:
    """Pool target: decode ``body`` in the child and trace task ``name``."""
    from celery._state import get_current_app
    app = app or get_current_app()
    accept = prepare_accept_content(app.conf.accept_content) if content_type else None
    args, kwargs, embed = _load_body(loads, body, content_type, content_encoding, accept)
    request.update({'args': args, 'kwargs': kwargs, 'hostname': gethostname(),
                    'is_eager': False}, **embed or {})
    request.update(extra_request)
    R, I, T, Rstr = trace_task(app.tasks[name], uuid, args, kwargs, request, app=app)
    return (1, R, T) if I else (0, Rstr, T)


def fast_trace_task(task: str, uuid: str, request: dict[str, Any],
                    body: bytes | str | TaskBody, content_type: str | None,
                    content_encoding: str | None,
                    loads: Callable[..., object] = loads_message,
                    _loc: list[Any] | None = None, hostname: str | None = None,
                    **_: Any) -> tuple[int, object, float | None]:
    """Pool target using the tracers prepared by :func:`setup_worker_optimizations`."""
    tasks, accept, hostname = _loc or _localized
    args, kwargs, embed = _load_body(loads, body, content_type, content_encoding, accept)
    request.update({'args': args, 'kwargs': kwargs, 'hostname': hostname,
                    'is_eager': False}, **embed or {})
    tracer = tasks[task].__trace__
    if tracer is None:
        tracer = tasks[task].__trace__ = build_tracer(task, tasks[task], hostname=hostname)
    R, I, T, Rstr = tracer(uuid, args, kwargs, request)
    return (1, R, T) if I else (0, Rstr, T)


def setup_worker_optimizations(app: Celery, hostname: str | None = None) -> None:
    """Cache what :func:`fast_trace_task` needs; tracers are built on each task's first run.

    Tracers hold per-process state (the pid), so those inherited from the
    parent are dropped.  Building them lazily spares a pool child the pages
    that building one for every registered task would copy.
    """
    hostname = hostname or gethostname()
    app.set_current()
    app.set_default()
    app.finalize()
    _localized[:] = [app._tasks, prepare_accept_content(app.conf.accept_content), hostname]
    for task in app.tasks.values():
        task.__trace__ = None
    app.use_fast_trace_task = True


def reset_worker_optimizations(app: Celery | None = None) -> None:
    """Undo :func:`setup_worker_optimizations`."""
    _localized[:] = []
    if app is not None:
        app.use_fast_trace_task = False


# The worker's set of finished request ids, imported only when asked for
# (importing the worker's state here would load it in every client).
__getattr__ = lazy_module_getattr(
    __name__, {'successful_requests': 'celery.worker.state'})

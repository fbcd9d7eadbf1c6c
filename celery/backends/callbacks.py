"""Backend-side chord hooks, errbacks and chain failure propagation.

Backends without a native join fall back to the ``celery.chord_unlock``
task, which polls the header group until it is ready.
"""
from __future__ import annotations

import inspect
import sys
from typing import TYPE_CHECKING, Any

from celery import states
from celery.app.publish_retry import worker_retry_policy
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from billiard.einfo import ExceptionInfo

    from celery.app.base import Celery
    from celery.app.task import Context, Task
    from celery.backends._types import BackendRequest
    from celery.canvas import Signature
    from celery.result import AsyncResult, GroupResult

__all__ = ('ChordFallbackMixin',)

logger = get_logger(__name__)


def _request_context(data: dict[str, Any]) -> Context:
    from celery.app.task import Context
    return Context(data)


def _accepts_request_exc_traceback(task: Task) -> bool:
    """Old-style errbacks take ``(request, exc, traceback)`` and run synchronously."""
    run = getattr(task, 'run', None) or task
    try:
        params = inspect.signature(run).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def _body_tasks(callback: Signature, app: Celery) -> list[Signature]:
    """The task signatures of a chain/group/chord body, in order, nested ones expanded."""
    from celery.canvas import maybe_signature
    kind = callback.subtask_type
    # Read from the signature dict itself: what the canvas classes' properties return.
    if kind == 'chord':
        header = callback.kwargs['header']
        header = header.tasks if hasattr(header, 'tasks') else header
        members = [*header, callback.kwargs.get('body')]
    elif kind in ('chain', 'group'):
        members = list(callback.kwargs['tasks'])
    else:
        return [callback]
    tasks: list[Signature] = []
    for member in members:
        signature = maybe_signature(member, app=app)
        if signature is not None:
            tasks.extend(_body_tasks(signature, app))
    return tasks


class ChordFallbackMixin:
    """Chord hooks that work on any backend, plus errback and chain handling."""

    if TYPE_CHECKING:
        # Provided by :class:`~celery.backends.base.Backend`, which mixes this in.
        app: Celery

        def mark_as_failure(self, task_id: str, exc: BaseException,
                            traceback: str | None = None,
                            request: BackendRequest | None = None, store_result: bool = True,
                            call_errbacks: bool = True, state: str = ...) -> None: ...

        def store_result(self, task_id: str, result: object, state: str,
                         traceback: str | None = None, request: BackendRequest | None = None,
                         **kwargs: Any) -> object: ...

    def ensure_chords_allowed(self) -> None:
        """Raise if this backend cannot run chords."""

    def apply_chord(self, header_result_args: tuple[Any, ...], body: Signature,
                    **kwargs: Any) -> GroupResult:
        """Called when a chord is applied: start waiting for its header."""
        self.ensure_chords_allowed()
        header_result: GroupResult = self.app.GroupResult(*header_result_args)
        self.fallback_chord_unlock(header_result, body, **kwargs)
        return header_result

    def fallback_chord_unlock(self, header_result: GroupResult, body: Signature,
                              countdown: float = 1,
                              **kwargs: Any) -> None:
        """Send ``celery.chord_unlock`` to poll the header and then call the body."""
        kwargs['result'] = [r.as_tuple() for r in header_result]
        body_type = self.app.tasks.get(body.task) if getattr(body, 'task', None) else None
        queue = body.options.get('queue', getattr(body_type, 'queue', None))
        if queue is None:
            queue = self.app.amqp.router.route(body.options, body.name)['queue'].name
        priority = body.options.get('priority', getattr(body_type, 'priority', 0))
        self.app.tasks['celery.chord_unlock'].apply_async(
            (header_result.id, body), kwargs, countdown=countdown,
            queue=queue, priority=priority)

    def on_chord_part_return(self, request: BackendRequest, state: str, result: object,
                             **kwargs: Any) -> None:
        """A header task finished (the fallback does nothing: chord_unlock polls)."""

    def set_chord_size(self, group_id: str, chord_size: int) -> None:
        """Record the size of a chord header (only native joins need it)."""

    def add_to_chord(self, chord_id: str, result: AsyncResult) -> None:
        """Grow a running chord by one task."""
        raise NotImplementedError(f'{type(self).__name__} does not support add_to_chord')

    def chord_error_from_stack(self, callback: Signature | dict[str, Any],
                               exc: BaseException | None = None) -> ExceptionInfo | None:
        """Fail the chord body ``callback`` with ``exc`` and call its errbacks.

        A body that is a chain, group or chord never runs at all: every task
        in it is failed, so whoever waits on any of them gets the error.
        """
        from celery.canvas import maybe_signature
        body = maybe_signature(callback, app=self.app)
        if body is None:
            return None
        if body.subtask_type in ('chain', 'group', 'chord'):
            return self._fail_workflow_body(body, exc)
        return self._fail_chord_body_task(body, exc)

    def _fail_workflow_body(self, callback: Signature,
                            exc: BaseException | None) -> ExceptionInfo | None:
        tasks = _body_tasks(callback, self.app)
        if callback.subtask_type == 'chain':
            # As when a chain step fails: the first step's errbacks are called
            # and the steps after it are only marked failed.
            first, rest = tasks[:1], tasks[1:]
            for task in rest:
                if task.id is not None:
                    self.fail_from_current_stack(task.id, exc=exc)
            tasks = first
        outcome = None
        for task in tasks:
            outcome = self._fail_chord_body_task(task, exc)
        return outcome

    def _fail_chord_body_task(self, callback: Signature,
                              exc: BaseException | None) -> ExceptionInfo | None:
        backend: ChordFallbackMixin
        try:
            backend = self.app.tasks[callback.task].backend
        except KeyError:
            backend = self
        fake_request = _request_context({
            'id': callback.options.get('task_id'),
            'errbacks': callback.options.get('link_error', []),
            'delivery_info': {},
            **callback,
        })
        try:
            self._call_task_errbacks(fake_request, exc, None)
        except Exception as eb_exc:  # noqa: BLE001 - report the errback failure instead
            exc = eb_exc
        if callback.id is None:
            # Never frozen: there is no result anyone could be waiting on.
            logger.error('Chord body %r has no task id: its failure %r is not stored',
                         callback, exc)
            return None
        return backend.fail_from_current_stack(callback.id, exc=exc)

    def finish_chord(self, group_id: str, header_result: GroupResult,
                     callback: Signature) -> None:
        """Join a ready chord header and send ``callback`` with its values; fail it on errors."""
        from celery.exceptions import ChordError
        from celery.result import allow_join_result
        join = (header_result.join_native if header_result.supports_native_join
                else header_result.join)
        try:
            with allow_join_result():
                values = join(timeout=self.app.conf.result_chord_join_timeout, propagate=True)
        except Exception as exc:  # noqa: BLE001 - a failed header fails the body
            culprit = next(header_result._failed_join_report(), None)
            reason = f'Dependency {culprit.id} raised {exc!r}' if culprit else repr(exc)
            logger.error('Chord %r raised: %s', group_id, reason)
            self.chord_error_from_stack(callback, ChordError(reason))
            return
        self.call_chord_body(group_id, callback, values or [])

    def call_chord_body(self, group_id: str, callback: Signature, values: list[Any]) -> None:
        """Send the chord body with the header's values; fail the chord if it can't be sent."""
        from celery.exceptions import ChordError
        try:
            callback.delay(values)
        except Exception as exc:
            logger.exception('Chord %r callback raised', group_id)
            self.chord_error_from_stack(callback, ChordError(f'Callback error: {exc!r}'))

    def fail_from_current_stack(self, task_id: str,
                                exc: BaseException | None = None) -> ExceptionInfo | None:
        """Mark ``task_id`` failed with ``exc`` (or the exception being handled)."""
        from billiard.einfo import ExceptionInfo
        _, real_exc, tb = sys.exc_info()
        try:
            exc = real_exc if exc is None else exc
            if exc is None:
                raise ValueError('fail_from_current_stack: no exception given nor being handled')
            tb = tb or exc.__traceback__
            if tb is None:
                # Not raised (e.g. chord_unlock giving up): there is no stack to keep.
                self.mark_as_failure(task_id, exc, None)
                return None
            exception_info = ExceptionInfo((type(exc), exc, tb))
            self.mark_as_failure(task_id, exc, exception_info.traceback)
            return exception_info
        finally:
            del tb

    def _fail_chain(self, request: BackendRequest, exc: BaseException, traceback: str | None,
                    state: str, store_result: bool) -> None:
        """Propagate a failure to the rest of the chain and to chords inside it."""
        try:
            chain_data: list[dict[str, Any]] = list(request.chain or ())
        except (AttributeError, TypeError):
            return
        for elem in chain_data:
            ctx = _request_context(elem)
            options = elem.get('options') or {}
            ctx.update(options)
            ctx.id = options.get('task_id')
            ctx.group = options.get('group_id')
            if store_result and state in states.PROPAGATE_STATES and ctx.id is not None:
                self.store_result(ctx.id, exc, state, traceback=traceback, request=ctx)
            if 'chord' in options:
                self.on_chord_part_return(ctx, state, exc)

    def _call_task_errbacks(self, request: BackendRequest, exc: BaseException | None,
                            traceback: str | None) -> None:
        new_style = []
        for errback in request.errbacks or ():
            errback = self.app.signature(errback)
            task = self.app.tasks.get(errback.task)
            if task is not None and _accepts_request_exc_traceback(task):
                # Called with the failure even when immutable (as group.link_error
                # makes them): immutability only refuses a parent's return value.
                args, kwargs, _ = errback._merge((request, exc, traceback), None, None,
                                                 force=True)
                task(*args, **kwargs)
            else:
                new_style.append(errback)
        for errback in new_style:
            errback.apply_async((request.id,), parent_id=request.id,
                                root_id=getattr(request, 'root_id', None),
                                retry_policy=worker_retry_policy(self.app))

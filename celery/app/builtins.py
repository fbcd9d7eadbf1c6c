"""Built-in tasks registered on every app when it is finalized."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from celery._state import connect_on_app_finalize
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.task import Task

__all__ = ()
logger = get_logger(__name__)

#: Retries of ``celery.chord_unlock`` when the chord gives none: enough to
#: outlive ``result_expires`` (after which the header results are gone).
DEFAULT_UNLOCK_WINDOW = 24 * 60 * 60


@connect_on_app_finalize
def add_backend_cleanup_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.backend_cleanup``: deletes expired results.

    Beat schedules it daily at 4 a.m. when :setting:`result_expires` is set
    and the backend does not expire results by itself.
    """
    @app.task(name='celery.backend_cleanup', shared=False, lazy=False)
    def backend_cleanup() -> None:
        app.backend.cleanup()
    return backend_cleanup


@connect_on_app_finalize
def add_accumulate_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.accumulate``: returns its arguments (or the one at ``index``)."""
    @app.task(bind=True, name='celery.accumulate', shared=False, lazy=False)
    def accumulate(self: Any, /, *args: object, **kwargs: Any) -> object:
        index = kwargs.get('index')
        return args[index] if index is not None else args
    return accumulate


def _unlock_max_retries(app: Celery, interval: float) -> int:
    expires = app.conf.result_expires
    window = expires.total_seconds() if hasattr(expires, 'total_seconds') else expires
    return max(1, int((window or DEFAULT_UNLOCK_WINDOW) / max(interval, 0.001)))


@connect_on_app_finalize
def add_unlock_chord_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.chord_unlock``: polls a chord header and then calls its body.

    Used by result backends without a native join.  Polling is bounded: a
    header still unfinished once its results would have expired fails the
    body with :exc:`~celery.exceptions.ChordError` instead of polling forever.
    """
    from celery.exceptions import ChordError

    @app.task(name='celery.chord_unlock', max_retries=None, shared=False,
              default_retry_delay=app.conf.result_chord_retry_interval, ignore_result=True,
              lazy=False, bind=True)
    def unlock_chord(self: Any, /, group_id: str, callback: Any, interval: float | None = None,
                     max_retries: int | None = None, result: Any = None,
                     **kwargs: Any) -> None:
        from celery.canvas import maybe_signature
        from celery.result import result_from_tuple
        if interval is None:
            interval = self.default_retry_delay
        if max_retries is None:
            max_retries = _unlock_max_retries(app, interval)
        callback = maybe_signature(callback, app=app)
        deps = app.GroupResult(group_id, [result_from_tuple(r, app=app) for r in result or ()],
                               app=app)
        error: Exception | None = None
        try:
            ready = deps.ready()
        except Exception as exc:  # noqa: BLE001 - backend hiccup: poll again
            ready, error = False, exc
        if not ready:
            if self.request.retries >= max_retries:
                reason = (f'Chord {group_id} header not complete after {max_retries} checks '
                          f'{interval}s apart: giving up on its body')
                logger.error(reason)
                app.backend.chord_error_from_stack(callback, ChordError(reason))
                return
            raise self.retry(exc=error, countdown=interval, max_retries=None)
        app.backend.finish_chord(group_id, deps, callback)
    return unlock_chord


@connect_on_app_finalize
def add_map_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.map``: calls a task once per item, in the worker."""
    @app.task(name='celery.map', shared=False, lazy=False)
    def xmap(task: Any, it: Any) -> list[Any]:
        from celery.canvas import signature
        task = signature(task, app=app).type
        return [task(item) for item in it]
    return xmap


@connect_on_app_finalize
def add_starmap_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.starmap``: calls a task once per argument tuple, in the worker."""
    @app.task(name='celery.starmap', shared=False, lazy=False)
    def xstarmap(task: Any, it: Any) -> list[Any]:
        from celery.canvas import signature
        task = signature(task, app=app).type
        return [task(*item) for item in it]
    return xstarmap


@connect_on_app_finalize
def add_chunk_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.chunks``: splits a list into starmap tasks."""
    @app.task(name='celery.chunks', shared=False, lazy=False)
    def chunks(task: Any, it: Any, n: int) -> Any:
        from celery.canvas import chunks as _chunks
        return _chunks.apply_chunks(task, it, n, app=app)
    return chunks


@connect_on_app_finalize
def add_group_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.group``: sends the members of a group from a worker."""
    from celery._state import get_current_worker_task

    @app.task(name='celery.group', bind=True, shared=False, lazy=False)
    def group(self: Any, tasks: list[dict[str, Any]], result: Any, group_id: str,
              partial_args: Sequence[object],
              add_to_parent: bool = True) -> Any:
        # Imported when run: finalizing an app must not import the canvas.
        from celery.canvas import maybe_signature
        from celery.result import result_from_tuple
        result = result_from_tuple(result, app)
        with app.producer_or_acquire() as producer:
            for task in tasks:
                sig = maybe_signature(task, app=app)
                if sig is not None:  # (a group message never has None members)
                    sig.clone(partial_args).apply_async(
                        group_id=group_id, producer=producer, add_to_parent=False)
        parent = get_current_worker_task()
        if add_to_parent and parent:
            parent.add_trail(result)
        return result
    return group


@connect_on_app_finalize
def add_chain_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.chain``: a name only; chains are never sent as one message."""
    @app.task(name='celery.chain', shared=False, lazy=False)
    def chain(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError('chain is not a real task')
    return chain


@connect_on_app_finalize
def add_chord_task(app: Celery) -> Task[..., Any]:
    """Register ``celery.chord``: applies a chord received as a message."""
    @app.task(name='celery.chord', bind=True, ignore_result=False, shared=False, lazy=False)
    def chord(self: Any, /, header: Any, body: Any, partial_args: Any = (),
              interval: float | None = None, countdown: float = 1,
              max_retries: int | None = None, eager: bool = False, **kwargs: Any) -> Any:
        from celery.canvas import chord as _chord
        from celery.canvas import group, maybe_signature
        tasks = header.tasks if isinstance(header, group) else header
        header = group([maybe_signature(s, app=app) for s in tasks], app=app)
        body = maybe_signature(body, app=app)
        return _chord(header, body, app=app).run(
            header, body, partial_args, app, interval, countdown, max_retries, **kwargs)
    return chord

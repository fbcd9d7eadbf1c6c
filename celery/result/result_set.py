"""Sets of results: :class:`ResultSet` and the saveable :class:`GroupResult`."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, overload
from weakref import proxy

from vine import barrier, promise

from celery import states
from celery._state import get_current_app
from celery.exceptions import ImproperlyConfigured, TimeoutError
from celery.result.async_result import AsyncResult, ResultBase
from celery.result.guards import assert_will_not_block

if TYPE_CHECKING:
    from typing import TypeAlias

    from kombu import Connection

    from celery.app.base import Celery
    from celery.backends.base import Backend
    from celery.result.async_result import ResultTuple

    #: A member of a set: a task's result or a nested group's.
    _Member: TypeAlias = 'AsyncResult[Any] | GroupResult'
    #: ``callback(task_id, value)`` called for each result instead of collecting it.
    _OnResult: TypeAlias = Callable[[str | None, object], object]
    #: ``on_message(meta)`` called for every state message a push backend receives.
    _OnMessage: TypeAlias = Callable[[dict[str, Any]], object]

__all__ = ('ResultSet', 'GroupResult')


class ResultSet(ResultBase):
    """A set of results joined together."""

    _app: Celery | None = None
    #: The member results.
    results: list[_Member]
    if not TYPE_CHECKING:
        results = None  # set per instance

    def __init__(self, results: list[_Member], app: Celery | None = None,
                 ready_barrier: barrier | None = None, **kwargs: Any) -> None:
        self._app = app
        self.results = results
        self.on_ready = promise(args=(proxy(self),))
        self._on_full = ready_barrier or barrier(results)
        if self._on_full:
            self._on_full.then(promise(self._on_ready, weak=True))
            if not results and ready_barrier is None:
                # An empty barrier is never finalized, so it would never fire:
                # settle it now and let add() re-arm it for each newcomer.
                self._on_full.finalize()

    def add(self, result: _Member) -> None:
        """Add ``result`` unless already present (re-arming :attr:`on_ready` if it fired)."""
        if result not in self.results:
            self.results.append(result)
            if not self._on_full:
                return
            if self._on_full.ready:
                self._rearm(result)
            else:
                self._on_full.add(result)

    def _rearm(self, result: _Member) -> None:
        # Every earlier result is ready and the spent barrier refuses more:
        # the set waits again, on the newcomer only.
        self.on_ready = promise(args=(proxy(self),))
        self._on_full = barrier(size=1)
        self._on_full.then(promise(self._on_ready, weak=True))
        self._on_full.add_noincr(result)

    def _on_ready(self) -> None:
        if self.backend.is_async:
            self.on_ready()

    def remove(self, result: _Member | str) -> None:
        """Remove ``result`` (an id or result); :exc:`KeyError` if missing."""
        member: _Member = self.app.AsyncResult(result) if isinstance(result, str) else result
        try:
            self.results.remove(member)
        except ValueError:
            raise KeyError(member) from None

    def discard(self, result: _Member | str) -> None:
        """Remove ``result`` if present."""
        try:
            self.remove(result)
        except KeyError:
            pass

    def update(self, results: Iterable[_Member]) -> None:
        """Extend with the results not already present."""
        self.results.extend(r for r in results if r not in self.results)

    def clear(self) -> None:
        """Remove every result."""
        self.results[:] = []

    def successful(self) -> bool:
        """Whether every task succeeded."""
        return all(result.successful() for result in self.results)

    def failed(self) -> bool:
        """Whether any task failed."""
        return any(result.failed() for result in self.results)

    def maybe_throw(self, callback: _OnResult | None = None,
                    propagate: bool = True) -> None:
        """Raise the first failure among the results."""
        for result in self.results:
            result.maybe_throw(callback=callback, propagate=propagate)

    maybe_reraise = maybe_throw

    def waiting(self) -> bool:
        """Whether any task is not ready yet."""
        return any(not result.ready() for result in self.results)

    def ready(self) -> bool:
        """Whether every task is ready."""
        return all(result.ready() for result in self.results)

    def completed_count(self) -> int:
        """Number of tasks that succeeded."""
        return sum(int(result.successful()) for result in self.results)

    def forget(self) -> None:
        """Forget every result."""
        for result in self.results:
            result.forget()

    def revoke(self, connection: Connection | None = None, terminate: bool = False,
               signal: str | int | None = None, wait: bool = False,
               timeout: float | None = None) -> list[dict[str, object]] | None:
        """Revoke every task in the set."""
        replies: list[dict[str, object]] | None = self.app.control.revoke(
            [r.id for r in self.results if r.id], connection=connection, timeout=timeout,
            terminate=terminate, signal=signal, reply=wait)
        return replies

    def __iter__(self) -> Iterator[_Member]:
        return iter(self.results)

    def __getitem__(self, index: int) -> _Member:
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ResultSet):
            return other.results == self.results
        return NotImplemented

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: [{", ".join(str(r.id) for r in self.results)}]>'

    # With a callback the values go there, not into a list: join_native returns None.
    @overload
    def get(self, timeout: float | None = ..., propagate: bool = ...,
            interval: float = ..., callback: None = ..., no_ack: bool = ...,
            on_message: _OnMessage | None = ..., disable_sync_subtasks: bool = ...,
            on_interval: Callable[[], object] | None = ...) -> list[Any]: ...
    @overload
    def get(self, timeout: float | None = ..., propagate: bool = ...,
            interval: float = ..., callback: _OnResult | None = ..., no_ack: bool = ...,
            on_message: _OnMessage | None = ..., disable_sync_subtasks: bool = ...,
            on_interval: Callable[[], object] | None = ...) -> list[Any] | None: ...

    def get(self, timeout: float | None = None, propagate: bool = True,
            interval: float = 0.5, callback: _OnResult | None = None,
            no_ack: bool = True, on_message: _OnMessage | None = None,
            disable_sync_subtasks: bool = True,
            on_interval: Callable[[], object] | None = None) -> list[Any] | None:
        """Join: :meth:`join_native` when the backend supports it, else :meth:`join`."""
        join = self.join_native if self.supports_native_join else self.join
        return join(timeout=timeout, propagate=propagate, interval=interval,
                    callback=callback, no_ack=no_ack, on_message=on_message,
                    disable_sync_subtasks=disable_sync_subtasks, on_interval=on_interval)

    def join(self, timeout: float | None = None, propagate: bool = True,
             interval: float = 0.5, callback: _OnResult | None = None,
             no_ack: bool = True, on_message: _OnMessage | None = None,
             disable_sync_subtasks: bool = True,
             on_interval: Callable[[], object] | None = None) -> list[Any]:
        """Wait for each result in order and return their values."""
        if disable_sync_subtasks:
            assert_will_not_block()
        if on_message is not None:
            raise ImproperlyConfigured('Backend does not support on_message callback')
        deadline = None if timeout is None else time.monotonic() + timeout
        values = []
        for result in self.results:
            remaining = None
            if deadline is not None:
                # Out of time: what is ready is still returned, only a pending result times out.
                remaining = max(deadline - time.monotonic(), 0.0)
                if not remaining and not result.ready():
                    raise TimeoutError('join operation timed out')
            value = result.get(timeout=remaining, propagate=propagate, interval=interval,
                               no_ack=no_ack, on_interval=on_interval,
                               disable_sync_subtasks=disable_sync_subtasks)
            if callback:
                callback(result.id, value)
            else:
                values.append(value)
        return values

    def then(self, callback: Callable[..., object], on_error: Callable[..., object] | None = None,
             weak: bool = False) -> promise:
        """Call ``callback`` when every result is ready."""
        return self.on_ready.then(callback, on_error)

    def iter_native(self, timeout: float | None = None, interval: float = 0.5,
                    no_ack: bool = True, on_message: _OnMessage | None = None,
                    on_interval: Callable[[], object] | None = None,
                    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(task_id, meta)`` as the backend reports results ready."""
        metas: Iterator[tuple[str, dict[str, Any]]] = self.backend.iter_native(
            self, timeout=timeout, interval=interval, no_ack=no_ack,
            on_message=on_message, on_interval=on_interval)
        return metas

    def join_native(self, timeout: float | None = None, propagate: bool = True,
                    interval: float = 0.5, callback: _OnResult | None = None,
                    no_ack: bool = True, on_message: _OnMessage | None = None,
                    on_interval: Callable[[], object] | None = None,
                    disable_sync_subtasks: bool = True) -> list[Any] | None:
        """Like :meth:`join` but fetches all results in bulk as they arrive."""
        if disable_sync_subtasks:
            assert_will_not_block()
        order_index = None if callback else {r.id: i for i, r in enumerate(self.results)}
        acc: list[Any] | None = None if callback else [None] * len(self)
        for task_id, meta in self.iter_native(timeout, interval, no_ack, on_message, on_interval):
            if isinstance(meta, list):
                value = [child.get(propagate=propagate,
                                   disable_sync_subtasks=disable_sync_subtasks)
                         for child in meta]
            else:
                value = meta['result']
                if propagate and meta['status'] in states.PROPAGATE_STATES:
                    raise value
            if callback:
                callback(task_id, value)
            else:
                acc[order_index[task_id]] = value  # type: ignore[index]
        return acc

    def _iter_meta(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return (meta for _, meta in self.backend.get_many(
            {r.id for r in self.results}, max_iterations=1, **kwargs))

    def _failed_join_report(self) -> Iterator[_Member]:
        # Only task results have a state (a nested group has none).
        return (res for res in self.results
                if isinstance(res, AsyncResult) and res.backend.is_cached(res.id)
                and res.state in states.PROPAGATE_STATES)

    @property
    def supports_native_join(self) -> bool:
        """Whether the backend joins natively."""
        try:
            native: bool = self.results[0].supports_native_join
            return native
        except IndexError:
            return False

    @property
    def app(self) -> Celery:
        """The app of this set (from the first result when not given)."""
        if self._app is None:
            self._app = (self.results[0].app if self.results else get_current_app())
        return self._app

    @app.setter
    def app(self, app: Celery) -> None:
        self._app = app

    @property
    def backend(self) -> Any:
        """The result backend of this set."""
        # Any: as AsyncResult.backend, a Backend with a Sync/AsyncBackendMixin.
        return self.app.backend if self.app else self.results[0].backend


class GroupResult(ResultSet):
    """The results of a group, with an id so it can be saved and restored."""

    #: The group's id (set per instance).
    id: str | None = None

    def __init__(self, id: str | None = None, results: list[_Member] | None = None,
                 parent: AsyncResult[Any] | GroupResult | None = None, **kwargs: Any) -> None:
        self.id = id
        self.parent = parent
        super().__init__(results if results is not None else [], **kwargs)

    def _on_ready(self) -> None:
        self.backend.remove_pending_result(self)
        super()._on_ready()

    def save(self, backend: Backend | None = None) -> object:
        """Store the group so :meth:`restore` can rebuild it by id."""
        if self.id is None:
            # It could never be restored: stored under "None" (or NULL) it would
            # also be overwritten by every other group without id.
            raise ValueError('A GroupResult without id cannot be saved')
        return (backend or self.app.backend).save_group(self.id, self)

    def delete(self, backend: Backend | None = None) -> None:
        """Remove the stored group (nothing to do for a group without id)."""
        if self.id is not None:
            (backend or self.app.backend).delete_group(self.id)

    def __reduce__(self) -> tuple[type[GroupResult], tuple[object, ...]]:
        return self.__class__, self.__reduce_args__()

    def __reduce_args__(self) -> tuple[object, ...]:
        return self.id, self.results

    def __bool__(self) -> bool:
        return bool(self.id or self.results)

    __nonzero__ = __bool__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, GroupResult):
            return (other.id == self.id and other.results == self.results
                    and other.parent == self.parent)
        if isinstance(other, str):
            return other == self.id
        return NotImplemented

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.id} [{", ".join(str(r.id) for r in self.results)}]>'

    def __str__(self) -> str:
        return str(self.id)

    def __hash__(self) -> int:
        return hash(self.id)

    def as_tuple(self) -> ResultTuple:
        """Serializable form: ``((id, parent_tuple), [child tuples])``."""
        parent = self.parent
        # ``is not None``: an empty GroupResult parent is falsy, yet still a parent.
        return ((self.id, parent.as_tuple() if parent is not None else None),
                [r.as_tuple() for r in self.results])

    @property
    def children(self) -> list[_Member]:
        """The member results."""
        return self.results

    @classmethod
    def restore(cls, id: str, backend: Backend | None = None,
                app: Celery | None = None) -> GroupResult | None:
        """Rebuild a saved group by id (``None`` when unknown)."""
        bound = cls.__dict__.get('app')
        if app is None and bound is not None and not isinstance(bound, property):
            app = bound
        backend = backend or (app or get_current_app()).backend
        restored: GroupResult | None = backend.restore_group(id)
        return restored

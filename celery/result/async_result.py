"""A handle on the state and return value of one task."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from vine import promise

from celery import states
from celery._state import get_current_app
from celery._typing import R_co
from celery.exceptions import IncompleteStream, TimeoutError
from celery.result.guards import assert_will_not_block
from celery.result.remote_traceback import with_remote_traceback

if TYPE_CHECKING:
    from typing import TypeAlias

    from kombu import Connection

    from celery.app.base import Celery
    from celery.backends.base import Backend
    from celery.result.result_set import GroupResult
    from celery.utils.graph import DependencyGraph, GraphFormatter

__all__ = ('ResultBase', 'AsyncResult', 'result_from_tuple')

T = TypeVar('T')

#: A result as :meth:`AsyncResult.as_tuple` gives it: ``((id, parent), children)``,
#: ``children`` being None for a task and the members' tuples for a group.
ResultTuple: TypeAlias = 'tuple[tuple[str | None, ResultTuple | None], list[ResultTuple] | None]'
RB = TypeVar('RB', bound='ResultBase')


def _parse_date(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace('Z', '+00:00')) if value else None
    return value


#: A node of a result's dependency graph.
_Node: TypeAlias = 'AsyncResult[Any] | GroupResult'


class ResultBase:
    """Base class for results."""

    #: Parent result (if part of a chain).
    parent: AsyncResult[Any] | GroupResult | None = None


class AsyncResult(ResultBase, Generic[R_co]):
    """Query the state and return value of a task by its id (``AsyncResult[int]``: an int)."""

    app: Celery
    # A Backend with a Sync- or AsyncBackendMixin (the pending-result and
    # waiting methods): no single class declares that interface yet.
    backend: Any
    #: The task's id.
    id: str
    if not TYPE_CHECKING:
        # Set on the classes bound to an app (``app.AsyncResult``); instances have their own.
        app = backend = id = None
    TimeoutError = TimeoutError

    def __init__(self, id: str, backend: Backend | None = None, task_name: str | None = None,
                 app: Celery | None = None,
                 parent: AsyncResult[Any] | GroupResult | None = None) -> None:
        if id is None:
            raise ValueError(f'AsyncResult requires valid id, not {type(id)}')
        self.app = app or self.app or get_current_app()
        self.id = id
        self.backend = backend or self.app.backend
        self.parent = parent
        self._cache: dict[str, Any] | None = None
        self._ignored = False

    @property
    def on_ready(self) -> promise:
        """Promise fulfilled with this result when the task is ready (made when first used)."""
        # Made lazily: most results (a group's members, a delay() whose result
        # is dropped) are never waited on, and the promise is a third of the cost.
        on_ready: promise | None = self.__dict__.get('_on_ready')
        if on_ready is None:
            on_ready = self._on_ready = promise(self._on_fulfilled, weak=True)
        return on_ready

    @on_ready.setter
    def on_ready(self, value: promise) -> None:
        self._on_ready = value

    @property
    def ignored(self) -> bool:
        """Whether the task was sent with ``ignore_result`` (``get()`` returns None)."""
        return getattr(self, '_ignored', False)

    @ignored.setter
    def ignored(self, value: bool) -> None:
        self._ignored = value

    def then(self, callback: Callable[..., object], on_error: Callable[..., object] | None = None,
             weak: bool = False) -> promise:
        """Call ``callback(result)`` when the task is ready (needs a push backend to fire)."""
        self.backend.add_pending_result(self, weak=weak)
        return self.on_ready.then(callback, on_error)

    def _on_fulfilled(self, result: T) -> T:
        self.backend.remove_pending_result(self)
        return result

    def as_tuple(self) -> ResultTuple:
        """Serializable form: ``((id, parent_tuple), None)``."""
        parent = self.parent
        # ``is not None``: an empty GroupResult parent is falsy, yet still a parent.
        return (self.id, parent.as_tuple() if parent is not None else None), None

    def as_list(self) -> list[str | None]:
        """Ids of this result and its parents, self first."""
        results: list[str | None] = [self.id]
        # A chord body's parent is the header's GroupResult, which has no
        # as_list(): walk the parents instead of asking each for its list.
        parent = self.parent
        while parent is not None:
            results.append(parent.id)
            parent = parent.parent
        return results

    def forget(self) -> None:
        """Remove this result (and its parents') from the backend; stop waiting for it."""
        self._cache = None
        if self.parent:
            self.parent.forget()
        self.backend.remove_pending_result(self)
        self.backend.forget(self.id)

    def revoke(self, connection: Connection | None = None, terminate: bool = False,
               signal: str | int | None = None, wait: bool = False,
               timeout: float | None = None) -> list[dict[str, object]] | None:
        """Ask the workers not to execute (or to terminate) this task."""
        replies: list[dict[str, object]] | None = self.app.control.revoke(
            self.id, connection=connection, terminate=terminate,
            signal=signal, reply=wait, timeout=timeout)
        return replies

    def revoke_by_stamped_headers(self, headers: Mapping[str, object],
                                  connection: Connection | None = None,
                                  terminate: bool = False, signal: str | int | None = None,
                                  wait: bool = False, timeout: float | None = None,
                                  ) -> list[dict[str, object]] | None:
        """Revoke every task carrying the stamped ``headers``."""
        replies: list[dict[str, object]] | None = self.app.control.revoke_by_stamped_headers(
            headers, connection=connection, terminate=terminate, signal=signal,
            reply=wait, timeout=timeout)
        return replies

    def get(self, timeout: float | None = None, propagate: bool = True, interval: float = 0.5,
            no_ack: bool = True, follow_parents: bool = True,
            callback: Callable[[str, object], object] | None = None,
            on_message: Callable[[dict[str, Any]], object] | None = None,
            on_interval: Callable[[], object] | None = None,
            disable_sync_subtasks: bool = True,
            EXCEPTION_STATES: frozenset[str] = states.EXCEPTION_STATES,
            PROPAGATE_STATES: frozenset[str] = states.PROPAGATE_STATES) -> R_co:
        """Wait until the task is ready and return its value (re-raising its error).

        ``EXCEPTION_STATES`` and ``PROPAGATE_STATES`` are accepted for
        compatibility; the states that raise are :data:`celery.states.PROPAGATE_STATES`.
        """
        if self.ignored:
            # No result is stored: None whatever the task returns (not part of R_co,
            # which describes the task's own value).
            return None  # type: ignore[return-value]
        if disable_sync_subtasks:
            assert_will_not_block()
        between_polls = self._between_polls(follow_parents and propagate, on_interval)
        if self._cache:
            # Already fetched once and final: the backend has nothing newer to say.
            if propagate:
                self.maybe_throw(callback=callback)
            cached: R_co = self.result
            return cached
        self.backend.add_pending_result(self)
        value: R_co = self.backend.wait_for_pending(
            self, timeout=timeout, interval=interval, on_interval=between_polls,
            no_ack=no_ack, propagate=propagate, callback=callback, on_message=on_message)
        return value

    wait = get

    def _between_polls(self, watch_parents: bool,
                       on_interval: Callable[[], object] | None) -> promise:
        """What ``get()`` runs while it waits: the parents' error check, then ``on_interval``."""
        if watch_parents and self.parent:
            # A failed parent means this task never runs: say so now, and on every poll.
            self._maybe_reraise_parent_error()
            between_polls = promise(self._maybe_reraise_parent_error, weak=True)
        else:
            between_polls = promise()
        if on_interval:
            between_polls.then(on_interval)
        return between_polls

    def _maybe_reraise_parent_error(self) -> None:
        for node in reversed(list(self._parents())):
            node.maybe_throw()

    def _parents(self) -> Iterator[AsyncResult[Any] | GroupResult]:
        node = self.parent
        while node:
            yield node
            node = node.parent

    def collect(self, intermediate: bool = False,
                **kwargs: Any) -> Iterator[tuple[AsyncResult[Any] | GroupResult, object]]:
        """Yield ``(result, value)`` for this task and every subtask it started."""
        for _, node in self.iterdeps(intermediate=intermediate):
            yield node, node.get(**kwargs)

    def get_leaf(self) -> object:
        """Return the value of the last node in the dependency graph."""
        value: object = None
        for _, node in self.iterdeps():
            value = node.get()
        return value

    def iterdeps(self, intermediate: bool = False
                 ) -> Iterator[tuple[_Node | None, _Node]]:
        """Yield ``(parent, node)`` pairs breadth first through the children."""
        stack: deque[tuple[_Node | None, _Node]] = deque([(None, self)])
        while stack:
            parent, node = stack.popleft()
            yield parent, node
            if node.ready():
                stack.extend((node, child) for child in node.children or [])
            elif not intermediate:
                raise IncompleteStream()

    def ready(self) -> bool:
        """Whether the task finished (SUCCESS, FAILURE or REVOKED)."""
        return self.state in self.backend.READY_STATES

    def successful(self) -> bool:
        """Whether the task succeeded."""
        return self.state == states.SUCCESS

    def failed(self) -> bool:
        """Whether the task failed."""
        return self.state == states.FAILURE

    def throw(self, *args: object, **kwargs: object) -> None:
        """Reject the ``on_ready`` promise with an exception and raise it."""
        self.on_ready.throw(*args, **kwargs)

    def maybe_throw(self, propagate: bool = True,
                    callback: Callable[[str, object], object] | None = None) -> object:
        """Raise the task's exception if it failed and ``propagate``; else return its value."""
        cache = self._get_task_meta() if self._cache is None else self._cache
        state, value = cache['status'], cache['result']
        if state in states.PROPAGATE_STATES and propagate:
            if self.app.conf.task_remote_tracebacks:
                value = with_remote_traceback(value, cache.get('traceback'))
                self.throw(value, getattr(value, '__traceback__', None))
            self.throw(value)
        if callback is not None:
            callback(self.id, value)
        return value

    maybe_reraise = maybe_throw

    def build_graph(self, intermediate: bool = False,
                    formatter: GraphFormatter | None = None) -> DependencyGraph[_Node]:
        """Return a :class:`~celery.utils.graph.DependencyGraph` of the subtasks."""
        from celery.utils.graph import DependencyGraph, GraphFormatter
        graph: DependencyGraph[_Node] = DependencyGraph(
            formatter=formatter or GraphFormatter(root=self.id, shape='oval'))
        for parent, node in self.iterdeps(intermediate=intermediate):
            graph.add_arc(node)
            if parent:
                graph.add_edge(parent, node)
        return graph

    @cached_property
    def graph(self) -> DependencyGraph[_Node]:
        """The dependency graph of this result."""
        return self.build_graph()

    def exists(self) -> bool:
        """Whether the backend has any state for this task."""
        return self.state != states.PENDING

    def __str__(self) -> str:
        return str(self.id)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.id}>'

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AsyncResult):
            return other.id == self.id
        if isinstance(other, str):
            return other == self.id
        return NotImplemented

    def __copy__(self) -> AsyncResult[R_co]:
        return self.__class__(self.id, self.backend, None, self.app, self.parent)

    def __reduce__(self) -> tuple[type[AsyncResult[R_co]], tuple[object, ...]]:
        return self.__class__, self.__reduce_args__()

    def __reduce_args__(self) -> tuple[object, ...]:
        return self.id, self.backend, None, None, self.parent

    def __del__(self) -> None:
        # Stop listening for a result nobody can ask for any more.
        backend = self.__dict__.get('backend')
        if backend is not None:
            try:
                backend.remove_pending_result(self)
            except Exception:  # noqa: BLE001 - never raise from __del__
                pass

    @property
    def supports_native_join(self) -> bool:
        """Whether the backend joins groups without polling each member."""
        native: bool = self.backend.supports_native_join
        return native

    @property
    def children(self) -> list[AsyncResult[Any] | GroupResult] | None:
        """Results of the subtasks this task started."""
        children: list[AsyncResult[Any] | GroupResult] | None = \
            self._get_task_meta().get('children')
        return children

    def _maybe_set_cache(self, meta: dict[str, Any] | None) -> dict[str, Any] | None:
        if meta and meta['status'] in states.READY_STATES:
            cache = self._set_cache(self.backend.meta_from_decoded(meta))
            self.on_ready(self)
            return cache
        return meta

    def _get_task_meta(self) -> dict[str, Any]:
        if self._cache is None:
            meta: dict[str, Any] = self._maybe_set_cache(self.backend.get_task_meta(self.id)) or {}
            return meta
        return self._cache

    def _iter_meta(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return iter([self._get_task_meta()])

    def _set_cache(self, meta: dict[str, Any]) -> dict[str, Any]:
        children = meta.get('children')
        if children:
            meta['children'] = [result_from_tuple(child, self.app) for child in children]
        self._cache = meta
        return meta

    @property
    def result(self) -> Any:
        """The return value, or the exception if the task failed."""
        # Any: R_co when it succeeded, an exception (or revocation info) when not.
        return self._get_task_meta()['result']

    info = result

    @property
    def traceback(self) -> str | None:
        """The remote traceback of a failed task, as text."""
        traceback: str | None = self._get_task_meta().get('traceback')
        return traceback

    @property
    def state(self) -> str:
        """The current state (PENDING when unknown)."""
        state: str = self._get_task_meta()['status']
        return state

    status = state

    @property
    def task_id(self) -> str:
        """Compatibility alias of :attr:`id`."""
        return self.id

    @task_id.setter
    def task_id(self, id: str) -> None:
        self.id = id

    @property
    def date_done(self) -> datetime | None:
        """When the task finished (UTC datetime), if it did."""
        return _parse_date(self._get_task_meta().get('date_done'))

    @property
    def name(self) -> str | None:
        """Task name (needs ``result_extended``)."""
        return self._get_task_meta().get('name')

    @property
    def args(self) -> list[Any] | tuple[Any, ...] | None:
        """Positional arguments (needs ``result_extended``)."""
        return self._get_task_meta().get('args')

    @property
    def kwargs(self) -> dict[str, Any] | None:
        """Keyword arguments (needs ``result_extended``)."""
        return self._get_task_meta().get('kwargs')

    @property
    def worker(self) -> str | None:
        """Hostname of the worker that ran the task (needs ``result_extended``)."""
        return self._get_task_meta().get('worker')

    @property
    def retries(self) -> int | None:
        """Number of retries (needs ``result_extended``)."""
        return self._get_task_meta().get('retries')

    @property
    def queue(self) -> str | None:
        """Routing key the task was delivered with (needs ``result_extended``)."""
        return self._get_task_meta().get('queue')


@overload
def result_from_tuple(r: RB, app: Celery | None = None) -> RB: ...
@overload
def result_from_tuple(r: ResultTuple | Sequence[Any],
                      app: Celery | None = None) -> AsyncResult[Any] | GroupResult: ...


def result_from_tuple(r: ResultTuple | Sequence[Any] | ResultBase,
                      app: Celery | None = None) -> ResultBase:
    """Rebuild a result from its :meth:`~AsyncResult.as_tuple` form."""
    if isinstance(r, ResultBase):
        return r
    app = app or get_current_app()
    res, nodes = r
    task_id, parent = res if isinstance(res, (list, tuple)) else (res, None)
    if parent:
        parent = result_from_tuple(parent, app)
    if nodes is not None:
        group: GroupResult = app.GroupResult(
            task_id, [result_from_tuple(child, app) for child in nodes], parent=parent)
        return group
    result: AsyncResult[Any] = app.AsyncResult(task_id, parent=parent)
    return result

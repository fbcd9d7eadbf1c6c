"""The in-memory model of a cluster, built from events (used by monitors)."""
from __future__ import annotations

import bisect
import platform
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import Any, TypeVar
from weakref import WeakSet, ref

from celery import states
from celery.utils.collections import LRUCache
from celery.utils.log import get_logger

__all__ = ('Worker', 'Task', 'State', 'heartbeat_expires')

logger = get_logger(__name__)

#: On PyPy the weak references behind the task indexes behave differently.
PYPY = platform.python_implementation() == 'PyPy'

R_STATE = '<State: events={0.event_count} tasks={0.task_count}>'
R_WORKER = '<Worker: {0.hostname} ({0.status_string} clock:{0.clock})'
R_TASK = '<Task: {0.name}({0.uuid}) {0.state} clock:{0.clock}>'


_Class = TypeVar('_Class', bound=type)
R = TypeVar('R')


def with_unique_field(attr: str) -> Callable[[_Class], _Class]:
    """Class decorator: instances are equal, and hash alike, when their ``attr`` is."""
    def decorate(cls: _Class) -> _Class:
        def __eq__(this: Any, other: object) -> bool:
            if isinstance(other, this.__class__):
                return getattr(this, attr) == getattr(other, attr)
            return NotImplemented

        def __ne__(this: Any, other: object) -> bool:
            result = __eq__(this, other)
            return result if result is NotImplemented else not result

        def __hash__(this: Any) -> int:
            return hash(getattr(this, attr))

        cls.__eq__ = __eq__  # type: ignore[assignment,method-assign]
        cls.__ne__ = __ne__  # type: ignore[assignment,method-assign]
        cls.__hash__ = __hash__  # type: ignore[assignment,method-assign]
        return cls
    return decorate


class CallableDefaultdict(defaultdict):
    """A :class:`~collections.defaultdict` that calls ``fun`` when called itself.

    ``state.tasks_by_type['add']`` is the index; ``state.tasks_by_type('add')``
    iterates the tasks in time order.
    """

    def __init__(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fun = fun

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fun(*args, **kwargs)

#: A worker is offline when no heartbeat came within ``freq`` × this percentage.
HEARTBEAT_EXPIRE_WINDOW = 200
#: Warn when a worker's clock is further off than this many seconds.
HEARTBEAT_DRIFT_MAX = 16
#: Heartbeat timestamps remembered per worker.
HEARTBEATS_KEPT = 4

DRIFT_WARNING = (
    'Substantial drift from %s may mean clocks are out of sync.  Current drift is '
    '%s seconds.  [orig: %s recv: %s]')

#: Task event subject -> the state it puts the task in.
# Celery's table of names, kept for compatibility.
TASK_EVENT_TO_STATE = {
    'sent': states.PENDING,
    'received': states.RECEIVED,
    'started': states.STARTED,
    'failed': states.FAILURE,
    'retried': states.RETRY,
    'succeeded': states.SUCCESS,
    'revoked': states.REVOKED,
    'rejected': states.REJECTED,
}


def heartbeat_expires(timestamp: float, freq: float = 60,
                      expire_window: float = HEARTBEAT_EXPIRE_WINDOW) -> float:
    """When a worker that sent a heartbeat at ``timestamp`` is considered gone."""
    # Events decoded with a Decimal-aware JSON loader carry Decimal timestamps.
    return float(timestamp) + (freq * (expire_window / 1e2))


@with_unique_field('hostname')
class Worker:
    """A worker as seen through its events."""

    _fields = ('hostname', 'pid', 'freq', 'heartbeats', 'clock', 'active', 'processed',
               'loadavg', 'sw_ident', 'sw_ver', 'sw_sys')
    _event_fields = frozenset(_fields) - {'heartbeats'}
    expire_window = HEARTBEAT_EXPIRE_WINDOW
    heartbeat_max = HEARTBEATS_KEPT

    def __init__(self, hostname: str | None = None, pid: int | None = None,
                 freq: float = 60, heartbeats: list[float] | None = None, clock: int = 0,
                 active: int | None = None, processed: int | None = None,
                 loadavg: Sequence[float] | None = None, sw_ident: str | None = None,
                 sw_ver: str | None = None, sw_sys: str | None = None) -> None:
        self.hostname = hostname
        self.pid = pid
        self.freq = freq
        self.clock = clock or 0
        #: Local arrival times of the last few heartbeats, oldest first.
        self.heartbeats = [] if heartbeats is None else heartbeats
        # What the worker's own events last said about its load and software.
        self.active, self.processed, self.loadavg = active, processed, loadavg
        self.sw_ident, self.sw_ver, self.sw_sys = sw_ident, sw_ver, sw_sys

    def event(self, type_: str | None, timestamp: float | None = None,
              local_received: float | None = None, fields: dict[str, Any] | None = None) -> None:
        """Apply a worker event (``online``/``heartbeat``/``offline``) or a task's heartbeat."""
        if fields:
            self.update(fields)
        if type_ == 'offline':
            self.heartbeats.clear()
            return
        if not local_received or not timestamp:
            return
        drift = abs(int(local_received) - int(timestamp))
        if drift > HEARTBEAT_DRIFT_MAX:
            logger.warning(DRIFT_WARNING, self.hostname, drift, timestamp, local_received)
        heartbeats = self.heartbeats
        if len(heartbeats) >= self.heartbeat_max:
            heartbeats.pop(0)
        if not heartbeats or local_received > heartbeats[-1]:
            heartbeats.append(local_received)
        else:
            bisect.insort(heartbeats, local_received)

    def update(self, f: dict[str, Any], **kw: Any) -> None:
        """Set the known worker fields found in ``f`` (and ``kw``)."""
        for key, value in dict(f, **kw).items():
            if key in self._event_fields:
                setattr(self, key, value)

    @property
    def status_string(self) -> str:
        """``ONLINE`` or ``OFFLINE``."""
        return 'ONLINE' if self.alive else 'OFFLINE'

    @property
    def heartbeat_expires(self) -> float:
        """Time after which the worker is considered offline."""
        return heartbeat_expires(self.heartbeats[-1], self.freq, self.expire_window)

    @property
    def alive(self) -> bool:
        """Whether a heartbeat came recently enough."""
        return bool(self.heartbeats and time.time() < self.heartbeat_expires)

    @property
    def id(self) -> tuple[str | None, int | None]:
        """``(hostname, pid)``."""
        return self.hostname, self.pid

    def as_dict(self) -> dict[str, Any]:
        """The worker's fields as a dict."""
        return {key: getattr(self, key) for key in self._fields}

    def __repr__(self) -> str:
        return R_WORKER.format(self) + '>'


@with_unique_field('uuid')
class Task:
    """A task as seen through its events."""

    name = received = sent = started = succeeded = failed = retried = revoked = None
    rejected = args = kwargs = eta = expires = retries = worker = result = None
    exception = timestamp = runtime = traceback = exchange = routing_key = None
    client = root_id = parent_id = None
    state = states.PENDING
    clock = 0

    _fields = ('uuid', 'name', 'state', 'received', 'sent', 'started', 'rejected',
               'succeeded', 'failed', 'retried', 'revoked', 'args', 'kwargs', 'eta',
               'expires', 'retries', 'worker', 'result', 'exception', 'timestamp',
               'runtime', 'traceback', 'exchange', 'routing_key', 'clock', 'client',
               'root', 'root_id', 'parent', 'parent_id', 'children')

    #: Fields kept from an event that arrives after a later state was seen.
    merge_rules = {
        states.RECEIVED: frozenset({'name', 'args', 'kwargs', 'parent_id', 'root_id',
                                    'retries', 'eta', 'expires'}),
    }

    def __init__(self, uuid: str | None = None, cluster_state: State | None = None,
                 children: Iterable[Task] | None = None, **kwargs: Any) -> None:
        self.uuid = uuid
        self.cluster_state = cluster_state
        self.children: WeakSet[Task] = WeakSet(children or ())
        if kwargs:
            self.__dict__.update(kwargs)

    def event(self, type_: str, timestamp: float | None = None,
              local_received: float | None = None, fields: dict[str, Any] | None = None) -> None:
        """Apply a task event, merging out-of-order ones by state precedence."""
        fields = dict(fields) if fields else {}
        fields.pop('type', None)
        fields.pop('uuid', None)
        fields.pop('hostname', None)
        state = TASK_EVENT_TO_STATE.get(type_)
        if state is not None:
            setattr(self, type_, timestamp)
        else:
            state = type_.upper()
        if (self.state != states.RETRY and state != states.RETRY
                and states.precedence(state) > states.precedence(self.state)):
            # This event happened before the current state: keep only its facts.
            keep = self.merge_rules.get(state)
            fields = {k: v for k, v in fields.items() if k in keep} if keep else {}
        else:
            fields['state'] = state
            fields['timestamp'] = timestamp
        self.__dict__.update(fields)

    def info(self, fields: Iterable[str] | None = None,
             extra: Iterable[str] = ()) -> dict[str, Any]:
        """The task's non-empty fields (``fields`` defaults to the display fields)."""
        names = list(fields or self._info_fields) + list(extra)
        values = ((name, getattr(self, name, None)) for name in names)
        return {name: value for name, value in values if value is not None}

    _info_fields = ('args', 'kwargs', 'retries', 'result', 'eta', 'runtime', 'expires',
                    'exception', 'exchange', 'routing_key', 'root_id', 'parent_id')

    def as_dict(self) -> dict[str, Any]:
        """Every field; related tasks by id, ``worker`` the :class:`Worker` itself."""
        # Monitors (Flower) take the hostname from the Worker object themselves.
        data = {key: getattr(self, key, None) for key in self._fields}
        data['root'] = self.root_id
        data['parent'] = self.parent_id
        data['children'] = [child.uuid for child in self.children]
        return data

    @property
    def id(self) -> str | None:
        """The task id (``uuid``)."""
        return self.uuid

    def __reduce__(self) -> tuple[Any, ...]:
        # Children are kept weakly: pickle them as a list of tasks.  The cluster
        # state is left out: a State unpickled with its tasks claims them again.
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ('children', 'cluster_state')}
        return self.__class__, (self.uuid, None, list(self.children)), state

    @property
    def ready(self) -> bool:
        """Whether the task reached a final state."""
        return self.state in states.READY_STATES

    @property
    def origin(self) -> str | None:
        """Who sent the last event: the client or the worker's hostname."""
        return self.client if self.worker is None else self.worker.hostname

    @property
    def parent(self) -> Task | None:
        """The parent task, if known."""
        return self._related(self.parent_id)

    @property
    def root(self) -> Task | None:
        """The root task, if known."""
        return self._related(self.root_id)

    def _related(self, uuid: str | None) -> Task | None:
        if uuid is None or self.cluster_state is None:
            return None
        return self.cluster_state.tasks.get(uuid)

    def __repr__(self) -> str:
        return R_TASK.format(self)


class _TimeTuple(tuple):
    """``(clock, timestamp, origin, task_ref)`` ordered by clock, time, origin."""

    __slots__ = ()

    def _key(self) -> tuple[Any, ...]:
        return (self[0] or 0, self[1] or 0, self[2] or '')

    def __lt__(self, other: Any) -> bool:  # type: ignore[override]
        return self._key() < other._key()

    def __gt__(self, other: Any) -> bool:  # type: ignore[override]
        return self._key() > other._key()


def _time_tuple(timetuple: Callable[..., Any], task: Task) -> Any:
    """The heap entry of ``task`` built with ``timetuple``."""
    fields = (task.clock, task.timestamp, task.origin, ref(task))
    return timetuple(fields) if timetuple is _TimeTuple else timetuple(*fields)


class _IndexedTasks(CallableDefaultdict):
    """``{key: WeakSet(tasks)}`` that can also be called to iterate in time order."""

    def __init__(self, fun: Callable[..., Iterator[Any]], initial: Any = None) -> None:
        super().__init__(fun, WeakSet)
        for key, tasks in (initial or {}).items():
            self[key].update(tasks)


def _plain(index: _IndexedTasks) -> dict[str, list[Any]]:
    """``{key: [tasks]}``: an index in a form that pickles."""
    return {key: list(tasks) for key, tasks in index.items()}


class State:
    """Records the clusters state from events: workers and tasks."""

    Worker = Worker
    Task = Task
    event_count = 0
    task_count = 0
    heap_multiplier = 4

    def __init__(self, callback: Callable[..., Any] | None = None,
                 workers: MutableMapping[str, Worker] | None = None,
                 tasks: MutableMapping[str, Task] | None = None, taskheap: list | None = None,
                 max_workers_in_memory: int = 5000, max_tasks_in_memory: int = 10000,
                 on_node_join: Callable[[Worker], Any] | None = None,
                 on_node_leave: Callable[[Worker], Any] | None = None,
                 tasks_by_type: dict[str, Any] | None = None,
                 tasks_by_worker: dict[str, Any] | None = None) -> None:
        self.event_callback = callback
        self.max_workers_in_memory = max_workers_in_memory
        self.max_tasks_in_memory = max_tasks_in_memory
        self.workers = LRUCache(max_workers_in_memory) if workers is None else workers
        self.tasks = LRUCache(max_tasks_in_memory) if tasks is None else tasks
        self._taskheap: list[_TimeTuple] = [] if taskheap is None else taskheap
        self.on_node_join = on_node_join
        self.on_node_leave = on_node_leave
        self._mutex = threading.Lock()
        self.handlers: dict[str, Callable[..., Any]] = {}
        self._seen_types: set[str] = set()
        #: Parent id -> children seen before the parent: bounded like ``tasks``.
        self._orphans: LRUCache = LRUCache(max_tasks_in_memory)
        self.tasks_by_type = _IndexedTasks(self._tasks_by_type, tasks_by_type)
        self.tasks_by_worker = _IndexedTasks(self._tasks_by_worker, tasks_by_worker)
        self._seen_types.update(self.tasks_by_type)
        if tasks:
            self._adopt_tasks(taskheap is None)

    def _adopt_tasks(self, rebuild_heap: bool) -> None:
        """Link tasks given to the constructor (an unpickled State's) to this state."""
        for task in list(self.tasks.values()):
            if task.cluster_state is None:
                task.cluster_state = self
        if rebuild_heap:
            self.rebuild_taskheap()

    def __reduce__(self) -> tuple[Any, ...]:
        # The lock and the heap's weak references cannot be pickled: the heap is
        # rebuilt from the tasks (Flower's --persistent saves its State this way).
        return self.__class__, (
            self.event_callback, self.workers, self.tasks, None, self.max_workers_in_memory,
            self.max_tasks_in_memory, self.on_node_join, self.on_node_leave,
            _plain(self.tasks_by_type), _plain(self.tasks_by_worker))

    # -- updating -------------------------------------------------------------------

    def event(self, event: dict[str, Any]) -> object:
        """Apply one event; returns ``((obj, created), subject)``."""
        with self._mutex:
            return self._event(event)

    def _event(self, event: dict[str, Any]) -> object:
        self.event_count += 1
        type_ = event['type']
        group, _, subject = type_.partition('-')
        result: object = None
        if group == 'task':
            result = self.task_event(subject, event)
        elif group == 'worker':
            result = self.worker_event(subject, event)
        else:
            handler = self.handlers.get(group)
            if handler is not None:
                result = handler(subject, event)
        if self.event_callback:
            self.event_callback(self, event)
        return result

    def worker_event(self, type_: str,
                     fields: dict[str, Any]) -> tuple[tuple[Worker, bool], str] | None:
        """Apply a ``worker-*`` event (one without ``hostname`` only reaches the callback)."""
        subject = type_
        hostname = fields.get('hostname')
        if hostname is None:
            return None
        is_offline = subject == 'offline'
        worker, created = self.workers.get(hostname), False
        if worker is None:
            # An unknown worker going offline is reported but not remembered.
            worker = self.Worker(hostname)
            if not is_offline:
                self.workers[hostname] = worker
                created = True
        worker.event(subject, fields.get('timestamp'), fields.get('local_received'), fields)
        if self.on_node_join and (created or subject == 'online'):
            self.on_node_join(worker)
        if self.on_node_leave and is_offline:
            self.on_node_leave(worker)
        return (worker, created), subject

    def get_or_create_worker(self, hostname: str, **kwargs: Any) -> tuple[Worker, bool]:
        """Return ``(worker, created)`` for ``hostname``."""
        worker = self.workers.get(hostname)
        if worker is not None:
            if kwargs:
                worker.update(kwargs)
            return worker, False
        worker = self.workers[hostname] = self.Worker(hostname, **kwargs)
        return worker, True

    def get_or_create_task(self, uuid: str) -> tuple[Task, bool]:
        """Return ``(task, created)`` for ``uuid``."""
        task = self.tasks.get(uuid)
        if task is not None:
            return task, False
        task = self.tasks[uuid] = self.Task(uuid, cluster_state=self)
        return task, True

    def task_event(self, type_: str, fields: dict[str, Any]) -> tuple[tuple[Task, bool], str]:
        """Apply a ``task-*`` event (``type_`` is the part after ``task-``)."""
        subject, event = type_, fields
        uuid, hostname = event['uuid'], event['hostname']
        timestamp, local_received = event.get('timestamp'), event.get('local_received')
        clock = event.get('clock') or 0
        task, task_created = self.get_or_create_task(uuid)
        if subject == 'sent':
            task.client = hostname
            origin = hostname
        else:
            worker, _ = self.get_or_create_worker(hostname)
            task.worker = worker
            worker.event(None, timestamp, local_received)
            origin = hostname
        self._add_to_heap(_TimeTuple((clock, timestamp, origin, ref(task))))
        if subject == 'received':
            self.task_count += 1
        task.event(subject, timestamp, local_received, event)
        task.clock = max(task.clock or 0, clock)
        if task.name is not None:
            self._seen_types.add(task.name)
            self.tasks_by_type[task.name].add(task)
        if task.worker is not None:
            self.tasks_by_worker[task.worker.hostname].add(task)
        self._link_family(task)
        return (task, task_created), subject

    def _link_family(self, task: Task) -> None:
        """Add ``task`` to its parent's children, or wait for the parent's first event."""
        if task.parent_id:
            parent = self.tasks.get(task.parent_id)
            if parent is not None:
                parent.children.add(task)
            else:
                self._orphans.setdefault(task.parent_id, WeakSet()).add(task)
        waiting = self._orphans.pop(task.uuid, None)
        if waiting:
            task.children.update(waiting)

    def rebuild_taskheap(self, timetuple: Callable[..., Any] = _TimeTuple) -> None:
        """Rebuild the time-ordered index from the tasks held."""
        # _TimeTuple takes one iterable, like tuple; a 4-field factory works too.
        self._taskheap[:] = sorted(
            _time_tuple(timetuple, task) for task in list(self.tasks.values()))

    def _add_to_heap(self, item: _TimeTuple) -> None:
        heap = self._taskheap
        if len(heap) + 1 > self.max_tasks_in_memory * self.heap_multiplier:
            heap.pop(0)
        if not heap or item > heap[-1]:
            heap.append(item)
        else:
            bisect.insort(heap, item)

    def freeze_while(self, fun: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Call ``fun`` while no event can change the state (``clear_after=True``: then clear)."""
        clear_after = kwargs.pop('clear_after', False)
        with self._mutex:
            try:
                return fun(*args, **kwargs)
            finally:
                if clear_after:
                    self._clear()

    def clear_tasks(self, ready: bool = True) -> None:
        """Forget tasks (only finished ones when ``ready``)."""
        with self._mutex:
            self._clear_tasks(ready)

    def _clear_tasks(self, ready: bool = True) -> None:
        if ready:
            in_progress = {uuid: task for uuid, task in self.itertasks() if not task.ready}
            self.tasks.clear()
            self.tasks.update(in_progress)
        else:
            self.tasks.clear()
        self._taskheap[:] = []

    def _clear(self, ready: bool = True) -> None:
        self.workers.clear()
        self._clear_tasks(ready)
        self.event_count = 0
        self.task_count = 0

    def clear(self, ready: bool = True) -> None:
        """Forget everything (keeping unfinished tasks when ``ready``)."""
        with self._mutex:
            self._clear(ready)

    # -- querying -------------------------------------------------------------------

    def itertasks(self, limit: int | None = None) -> Iterator[tuple[str, Task]]:
        """Yield ``(uuid, task)`` pairs, at most ``limit``."""
        for index, item in enumerate(list(self.tasks.items())):
            if limit is not None and index >= limit:
                break
            yield item

    def tasks_by_time(self, limit: int | None = None,
                      reverse: bool = True) -> Iterator[tuple[str, Task]]:
        """Yield ``(uuid, task)`` ordered by logical clock (newest first)."""
        seen: set[str] = set()
        heap = reversed(self._taskheap) if reverse else iter(self._taskheap)
        for item in heap:
            task = item[3]()
            if task is None or task.uuid in seen:
                continue
            seen.add(task.uuid)
            yield task.uuid, task
            if limit is not None and len(seen) >= limit:
                break

    #: Celery's other name for :meth:`tasks_by_time` (Flower lists tasks with it).
    tasks_by_timestamp = tasks_by_time

    def _tasks_by_type(self, name: str, limit: int | None = None,
                       reverse: bool = True) -> Iterator[tuple[str, Task]]:
        count = 0
        for uuid, task in self.tasks_by_time(reverse=reverse):
            if task.name == name:
                yield uuid, task
                count += 1
                if limit is not None and count >= limit:
                    return

    def _tasks_by_worker(self, hostname: str, limit: int | None = None,
                         reverse: bool = True) -> Iterator[tuple[str, Task]]:
        count = 0
        for uuid, task in self.tasks_by_time(reverse=reverse):
            if task.worker is not None and task.worker.hostname == hostname:
                yield uuid, task
                count += 1
                if limit is not None and count >= limit:
                    return

    def task_types(self) -> list[str]:
        """Sorted names of the task types seen."""
        return sorted(self._seen_types)

    def alive_workers(self) -> list[Worker]:
        """Workers that sent a heartbeat recently."""
        return [worker for worker in self.workers.values() if worker.alive]

    def __repr__(self) -> str:
        return R_STATE.format(self)

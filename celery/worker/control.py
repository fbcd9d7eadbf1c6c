"""Remote control commands run by the worker.

A command is a function ``fun(state, **arguments)``; ``state`` carries
``app``, ``hostname`` and ``consumer``.  Register your own with
:func:`control_command` or :func:`inspect_command` (the registry lives in
:mod:`celery.worker.control_panel`; its names are importable from here).
"""
from __future__ import annotations

import io
import tempfile
from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from celery.exceptions import WorkerShutdown
from celery.platforms import EX_OK, signals as _signals
from celery.utils.functional import maybe_list
from celery.utils.log import get_logger
from celery.utils.saferepr import saferepr
from celery.utils.serialization import jsonify
from celery.utils.time import rate
from celery.worker import revoke_store, state as worker_state
from celery.worker.control_panel import (
    Panel,
    control_command,
    controller_info_t,
    inspect_command,
    nok,
    ok,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType
    from typing import Protocol

    from kombu.asynchronous.timer import Entry

    from celery.app.task import Task
    from celery.concurrency.base import BasePool
    from celery.events.dispatcher import EventDispatcher
    from celery.worker._types import ControlState
    from celery.worker.autoscale import Autoscaler
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.request import Request
    from celery.worker.worker import WorkController

    class _Waiting(Protocol):
        """An item of the timer's queue."""

        priority: int
        entry: Entry

__all__ = ('Panel', 'control_command', 'inspect_command', 'controller_info_t', 'ok', 'nok')

logger = get_logger(__name__)

#: Task attributes ``inspect registered`` shows by default.
DEFAULT_TASK_INFO_ITEMS = ('exchange', 'routing_key', 'rate_limit')

TERM_SIGNAME = 'SIGTERM'


# -- helpers ------------------------------------------------------------------------


def _find_requests_by_id(ids: Iterable[str]) -> Iterator[Request]:
    requests = worker_state.requests
    for task_id in ids:
        request = requests.get(task_id)
        if request is not None:
            yield request


def _scheduled(state: ControlState) -> Iterator[tuple[_Waiting, Request]]:
    """``(timer_entry, request)`` for each ETA/countdown request held in the timer."""
    from celery.worker.request import Request
    for waiting in list(getattr(state.consumer.timer, 'queue', ())):
        entry = getattr(waiting, 'entry', None)
        if getattr(entry, 'canceled', False):
            continue
        args = getattr(entry, 'args', None)
        request = args[0] if args else None
        if isinstance(request, Request):
            yield waiting, request


def _controller(state: ControlState) -> WorkController:
    controller = state.consumer.controller
    assert controller is not None, 'a worker consumer runs under its WorkController'
    return controller


def _pool(state: ControlState) -> BasePool:
    pool = state.consumer.pool
    assert pool is not None, 'the Pool step gives the consumer its pool'
    return pool


def _autoscaler(state: ControlState) -> Autoscaler | None:
    controller = state.consumer.controller
    return controller.autoscaler if controller is not None else None


def _state_of_task(request: Request) -> str:
    if request in worker_state.active_requests:
        return 'active'
    if request in worker_state.reserved_requests:
        return 'reserved'
    return 'ready'


def _dispatcher(state: ControlState) -> EventDispatcher | None:
    return state.consumer.event_dispatcher


def _update_prefetch_count(consumer: Consumer, delta: int) -> None:
    """Follow a pool resize with the prefetch count."""
    if consumer.qos is None:
        return
    change = delta * consumer.prefetch_multiplier
    consumer.initial_prefetch_count = max(consumer.initial_prefetch_count + change, 1)
    consumer.max_prefetch_count = max(consumer.max_prefetch_count + change, 1)
    if change > 0:
        consumer.qos.increment_eventually(change)
    else:
        consumer.qos.decrement_eventually(-change)


def _terminate(state: ControlState, requests: Iterable[Request],
               signal: str | int | None) -> list[str]:
    signum = _signals.signum(signal or TERM_SIGNAME)
    terminated = []
    for request in requests:
        if request.id not in terminated:
            logger.info('Terminating %s (%s)', request.id, signum)
            request.terminate(_pool(state), signal=signum)
            terminated.append(request.id)
    return terminated


# -- revoking -----------------------------------------------------------------------


@control_command(variadic='task_id', signature='[id1 [id2 [... [idN]]]]')
def revoke(state: ControlState, task_id: str | list[str], terminate: bool = False,
           signal: str | int | None = None, **kwargs: object) -> dict[str, object]:
    """Revoke task by task id (or list of ids)."""
    task_ids = [str(t) for t in maybe_list(task_id) or []]
    worker_state.revoked.update(task_ids)
    # Clients without worker_revokes_backend set still end up durable.
    revoke_store.record(state.app, task_ids)
    _withdraw_revoked(state)
    if terminate:
        terminated = _terminate(state, _find_requests_by_id(task_ids), signal)
        if not terminated:
            return ok('terminate: tasks unknown')
        return ok(f'terminate: {", ".join(terminated)}')
    logger.info('Tasks flagged as revoked: %s', ', '.join(task_ids))
    return ok(f'tasks {set(task_ids)} flagged as revoked')


def _withdraw_revoked(state: ControlState) -> None:
    # Jobs handed to the pool but not started would run despite the revoke.
    dispatcher = getattr(getattr(state.consumer, 'controller', None), 'dispatcher', None)
    if dispatcher is not None:
        dispatcher.withdraw_revoked()
    _revoke_scheduled(state)


def _revoke_scheduled(state: ControlState) -> None:
    # ETA/countdown tasks wait in the timer: report them REVOKED now, as
    # Celery does, rather than when their time comes, and drop their entry.
    for waiting, request in list(_scheduled(state)):
        if request.is_revoked() and request.revoked():
            entry = waiting.entry
            entry.cancel()
            # The strategy passes, last, whether it raised the prefetch for this task.
            if entry.args[-1] is True and state.consumer.qos is not None:
                state.consumer.qos.decrement_eventually()


@control_command(variadic='headers', signature='[key1=value1 [key2=value2 [... [keyN=valueN]]]]')
def revoke_by_stamped_headers(state: ControlState,
                              headers: Mapping[str, object] | list[str] | tuple[str, ...],
                              terminate: bool = False, signal: str | int | None = None,
                              **kwargs: object) -> dict[str, object]:
    """Revoke tasks by header (or list of headers)."""
    if isinstance(headers, (list, tuple)):
        headers = dict(item.split('=', 1) for item in headers)
    for header, values in headers.items():
        current: set[object] = set(worker_state.revoked_stamps.get(header) or ())
        current.update(maybe_list(values) or ())
        worker_state.revoked_stamps[header] = list(current)
    _withdraw_revoked(state)
    if not terminate:
        return ok(f'headers {headers} flagged as revoked')
    matched: defaultdict[str, set[object]] = defaultdict(set)
    to_terminate = []
    for request in list(worker_state.active_requests):
        stamps = request.stamps or {}
        for header, values in headers.items():
            wanted = set(maybe_list(values) or ())
            found = set(maybe_list(stamps.get(header)) or ())
            if wanted & found:
                matched[header].update(wanted & found)
                to_terminate.append(request)
    if not _terminate(state, to_terminate, signal):
        return ok(f'headers {headers} were not terminated')
    return ok(f'headers {dict(matched)} revoked')


@control_command(args=[('signal', str)], signature='<signal> [id1 [id2 [... [idN]]]]',
                 variadic='task_id')
def terminate(state: ControlState, signal: str | int | None, task_id: str | list[str],
              **kwargs: object) -> dict[str, object]:
    """Terminate task by task id (or list of ids)."""
    return revoke(state, task_id, terminate=True, signal=signal)


# -- tasks and limits ---------------------------------------------------------------


@control_command(args=[('task_name', str), ('rate_limit', str)],
                 signature='<task_name> <rate_limit (e.g., 5/s | 5/m | 5/h)>')
def rate_limit(state: ControlState, task_name: str, rate_limit: str | None,
               **kwargs: object) -> dict[str, object]:
    """Tell worker(s) to modify the rate limit for a task by type."""
    try:
        rate(rate_limit)
    except ValueError as exc:
        return nok(f'Invalid rate limit string: {exc!r}')
    try:
        state.app.tasks[task_name].rate_limit = rate_limit
    except KeyError:
        logger.error('Rate limit attempt for unknown task %s', task_name)
        return nok('unknown task')
    state.consumer.reset_rate_limits()
    if not rate_limit:
        logger.info('Rate limits disabled for tasks of type %s', task_name)
        return ok('rate limit disabled successfully')
    logger.info('New rate limit for tasks of type %s: %s.', task_name, rate_limit)
    return ok('new rate limit set successfully')


@control_command(args=[('task_name', str), ('soft', float), ('hard', float)],
                 signature='<task_name> <soft_secs> [hard_secs]')
def time_limit(state: ControlState, task_name: str | None = None, hard: float | None = None,
               soft: float | None = None, **kwargs: object) -> dict[str, object]:
    """Tell worker(s) to modify the time limit for task by type."""
    task = state.app.tasks.get(task_name) if task_name is not None else None
    if task is None:
        logger.error('Change time limit attempt for unknown task %s', task_name)
        return nok('unknown task')
    task.soft_time_limit = soft
    task.time_limit = hard
    logger.info('New time limits for tasks of type %s: soft=%s hard=%s',
                task_name, soft, hard)
    return ok('time limits set successfully')


# -- events -------------------------------------------------------------------------


@control_command(args=[('id', str), ('topic', str), ('action', str)],
                 signature='<id> <topic> [action]')
def election(state: ControlState, id: str, topic: str, action: str | None = None,
             **kwargs: object) -> None:
    """Hold election."""
    gossip = getattr(state.consumer, 'gossip', None)
    if gossip is not None:
        gossip.election(id, topic, action)


@control_command()
def enable_events(state: ControlState) -> dict[str, object]:
    """Tell worker(s) to send task-related events."""
    dispatcher = _dispatcher(state)
    if dispatcher is None:
        return nok('events are not available on this worker (no event dispatcher)')
    if dispatcher.groups and 'task' not in dispatcher.groups:
        dispatcher.groups.add('task')
        logger.info('Events of group {task} enabled by remote.')
        return ok('task events enabled')
    return ok('task events already enabled')


@control_command()
def disable_events(state: ControlState) -> dict[str, object]:
    """Tell worker(s) to stop sending task-related events."""
    dispatcher = _dispatcher(state)
    if dispatcher is None:
        return nok('events are not available on this worker (no event dispatcher)')
    if not dispatcher.groups:
        # An empty set means "every group": keep worker events only.
        dispatcher.groups.add('worker')
    elif 'task' in dispatcher.groups:
        dispatcher.groups.discard('task')
    else:
        return ok('task events already disabled')
    logger.info('Events of group {task} disabled by remote.')
    return ok('task events disabled')


@control_command()
def heartbeat(state: ControlState) -> None:
    """Tell worker(s) to send event heartbeat immediately."""
    logger.debug('Heartbeat requested by remote.')
    dispatcher = _dispatcher(state)
    if dispatcher is not None:
        dispatcher.send('worker-heartbeat', freq=5, **worker_state.SOFTWARE_INFO)


# -- worker information -------------------------------------------------------------


@inspect_command(visible=False)
def hello(state: ControlState, from_node: str, revoked: Iterable[str] | None = None,
          **kwargs: object) -> dict[str, object] | None:
    """Request mingle sync-data."""
    if from_node == state.hostname:
        return None
    logger.info('sync with %s', from_node)
    if revoked:
        try:
            worker_state.revoked.update(revoked)
        except (TypeError, ValueError) as exc:
            logger.warning('Ignored bad revoked ids from %s: %r', from_node, exc)
    worker_state.revoked.purge()
    return {'revoked': worker_state.revoked._data, 'clock': state.app.clock.forward()}


@inspect_command(default_timeout=0.2)
def ping(state: ControlState, **kwargs: object) -> dict[str, object]:
    """Ping worker(s)."""
    return ok('pong')


@inspect_command()
def clock(state: ControlState, **kwargs: object) -> dict[str, int]:
    """Get current logical clock value."""
    return {'clock': state.app.clock.value}


@inspect_command()
def report(state: ControlState) -> dict[str, object]:
    """Information about Celery installation for bug reports."""
    return ok(state.app.bugreport())


@inspect_command(alias='dump_conf', signature='[include_defaults=False]',
                 args=[('with_defaults', lambda value: str(value).lower() in
                        ('1', 'true', 'yes', 'on', 'y'))])
def conf(state: ControlState, with_defaults: bool = False,
         **kwargs: object) -> dict[str, object]:
    """List configuration."""
    table = jsonify(state.app.conf.table(with_defaults=with_defaults),
                    keyfilter=lambda key: isinstance(key, str) and not key.startswith('__'),
                    unknown_type_filter=saferepr)
    # jsonify of a mapping is a dict.
    return table if isinstance(table, dict) else {}


@inspect_command()
def stats(state: ControlState, **kwargs: object) -> dict[str, Any]:
    """Request worker statistics/information."""
    return _controller(state).stats()


@inspect_command(variadic='ids', signature='[id1 [id2 [... [idN]]]]')
def query_task(state: ControlState, ids: str | list[str],
               **kwargs: object) -> dict[str, tuple[str, dict[str, Any]]]:
    """Query for task information by id."""
    wanted = set(maybe_list(ids) or ())
    found = {request.id: (_state_of_task(request), request.info())
             for request in _find_requests_by_id(wanted)}
    # ETA tasks wait in the timer, reserved by this worker.
    found.update((request.id, ('reserved', request.info()))
                 for _, request in _scheduled(state) if request.id in wanted)
    return found


@inspect_command(alias='dump_schedule')
def scheduled(state: ControlState, **kwargs: object) -> list[dict[str, object]]:
    """List of currently scheduled ETA/countdown tasks."""
    return [{'eta': request.eta.isoformat() if request.eta else None,
             'priority': waiting.priority, 'request': request.info()}
            for waiting, request in _scheduled(state)]


@inspect_command(alias='dump_reserved')
def reserved(state: ControlState, **kwargs: object) -> list[dict[str, Any]]:
    """List of currently reserved tasks, not including scheduled/active."""
    active = set(worker_state.active_requests)
    return [request.info() for request in list(worker_state.reserved_requests)
            if request not in active]


@inspect_command(alias='dump_active', args=[('safe', bool)])
def active(state: ControlState, safe: bool = False,
           **kwargs: object) -> list[dict[str, Any]]:
    """List of tasks currently being executed."""
    return [request.info(safe=safe) for request in list(worker_state.active_requests)]


@inspect_command(alias='dump_revoked')
def revoked(state: ControlState, **kwargs: object) -> list[str] | dict[str, str]:
    """List of revoked task-ids; with ``sources=True``, each with where this worker learnt it."""
    if kwargs.get('sources'):
        # Asked for by ``celery inspect revoked``; Celery's workers ignore the
        # argument and reply with the list, which the command prints as it is.
        return revoke_store.sources(list(worker_state.revoked))
    return list(worker_state.revoked)


@inspect_command()
def revoked_sources(state: ControlState, **kwargs: object) -> dict[str, str]:
    """Revoked task-ids with where this worker learnt them (revokes_backend or live)."""
    return revoke_store.sources(list(worker_state.revoked))


@inspect_command(alias='dump_tasks', variadic='taskinfoitems',
                 signature='[attr1 [attr2 [... [attrN]]]]')
def registered(state: ControlState, taskinfoitems: Iterable[str] | None = None,
               builtins: bool = False, **kwargs: object) -> list[str]:
    """List of registered tasks."""
    registry = state.app.tasks
    fields = taskinfoitems or DEFAULT_TASK_INFO_ITEMS
    names = sorted(name for name in registry if builtins or not name.startswith('celery.'))
    return [_task_line(registry[name], fields) for name in names]


def _task_line(task: Task, fields: Iterable[str]) -> str:
    values = [(field, getattr(task, field, None)) for field in fields]
    shown = ' '.join(f'{field}={value}' for field, value in values if value is not None)
    return f'{task.name} [{shown}]' if shown else str(task.name)


@inspect_command(default_timeout=60.0, args=[('type', str), ('num', int), ('max_depth', int)],
                 signature='[object_type=Request] [num=200 [max_depth=10]]')
def objgraph(state: ControlState, num: int = 200, max_depth: int = 10,
             type: str = 'Request') -> dict[str, object]:
    """Create graph of uncollected objects (memory-leak debugging)."""
    try:
        import objgraph as _objgraph
    except ImportError:
        return nok('objgraph is not installed on the worker: pip install objgraph')
    logger.info('Dumping graph for type %r', type)
    with tempfile.NamedTemporaryFile(prefix='cobjg', suffix='.png', delete=False) as fh:
        objects = _objgraph.by_type(type)[:num]
        _objgraph.show_backrefs(objects, max_depth=max_depth, highlight=lambda v: v in objects,
                                filename=fh.name)
        return {'filename': fh.name}


@inspect_command()
def memsample(state: ControlState, **kwargs: object) -> str:
    """Sample current RSS memory usage."""
    from celery.utils.debug import sample_mem
    return sample_mem()


@inspect_command(args=[('samples', int)], signature='[n_samples=10]')
def memdump(state: ControlState, samples: int = 10, **kwargs: object) -> str:
    """Dump statistics of previous memsample requests."""
    from celery.utils import debug
    out = io.StringIO()
    debug.memdump(samples, file=out)
    return out.getvalue()


@inspect_command()
def active_queues(state: ControlState) -> list[dict[str, object]]:
    """List the task queues a worker is currently consuming from."""
    consumer = state.consumer.task_consumer
    if not consumer:
        return []
    return [dict(queue.as_dict(recurse=True)) for queue in consumer.queues or ()]


# -- pool and consumers -------------------------------------------------------------


@control_command(args=[('n', int)], signature='[N=1]')
def pool_grow(state: ControlState, n: int = 1, **kwargs: object) -> dict[str, object]:
    """Grow pool by n processes/threads."""
    if _autoscaler(state):
        return nok('pool_grow is not supported with autoscale. Adjust autoscale range instead.')
    _pool(state).grow(n)
    _update_prefetch_count(state.consumer, n)
    return ok('pool will grow')


@control_command(args=[('n', int)], signature='[N=1]')
def pool_shrink(state: ControlState, n: int = 1, **kwargs: object) -> dict[str, object]:
    """Shrink pool by n processes/threads."""
    if _autoscaler(state):
        return nok('pool_shrink is not supported with autoscale. Adjust autoscale range instead.')
    _pool(state).shrink(n)
    _update_prefetch_count(state.consumer, -n)
    return ok('pool will shrink')


@control_command()
def pool_restart(state: ControlState, modules: Iterable[str] | None = None,
                 reload: bool = False, reloader: Callable[[ModuleType], object] | None = None,
                 **kwargs: object) -> dict[str, object]:
    """Restart execution pool."""
    if not state.app.conf.worker_pool_restarts:
        return nok('Pool restarts not enabled: start the worker with '
                   'worker_pool_restarts=True to allow pool_restart.')
    _controller(state).reload(modules, reload, reloader=reloader)
    return ok('reload started')


@control_command(args=[('max', int), ('min', int)], signature='[max [min]]')
def autoscale(state: ControlState, max: int | None = None,
              min: int | None = None) -> dict[str, object]:
    """Modify autoscale settings."""
    autoscaler = _autoscaler(state)
    if not autoscaler:
        return nok('Autoscale not enabled: start the worker with --autoscale=MAX,MIN.')
    max_, min_ = autoscaler.update(max, min)
    return ok(f'autoscale now max={max_} min={min_}')


@control_command()
def shutdown(state: ControlState, msg: str = 'Got shutdown from remote',
             **kwargs: object) -> None:
    """Shutdown worker(s)."""
    logger.warning(msg)
    raise WorkerShutdown(EX_OK)


@control_command(args=[('queue', str), ('exchange', str), ('exchange_type', str),
                       ('routing_key', str)],
                 signature='<queue> [exchange [type [routing_key]]]')
def add_consumer(state: ControlState, queue: str, exchange: str | None = None,
                 exchange_type: str | None = None, routing_key: str | None = None,
                 **options: object) -> dict[str, object]:
    """Tell worker(s) to consume from task queue by name."""
    state.consumer.call_soon(partial(state.consumer.add_task_queue, queue, exchange,
                                     exchange_type or 'direct', routing_key, **options))
    return ok(f'add consumer {queue}')


@control_command(args=[('queue', str)], signature='<queue>')
def cancel_consumer(state: ControlState, queue: str, **_: object) -> dict[str, object]:
    """Tell worker(s) to stop consuming from task queue by name."""
    state.consumer.call_soon(state.consumer.cancel_task_queue, queue)
    return ok(f'no longer consuming from {queue}')

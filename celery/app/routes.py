"""Task routing: deciding which queue/exchange/routing key a task goes to.

Precedence, highest first: options passed to ``apply_async``, the routers
in :setting:`task_routes`, routing attributes on the task class, and the
default queue.
"""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kombu import Queue
from kombu.utils.functional import maybe_evaluate
from kombu.utils.imports import symbol_by_name

from celery.app.config import AppConfiguration
from celery.app.publish_settings import publish_settings
from celery.exceptions import QueueNotFound

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.task import Task

__all__ = ('MapRoute', 'Router', 'expand_router_string', 'prepare')

#: Task class attributes that act as a route of last resort.
TASK_ROUTE_ATTRIBUTES = ('queue', 'exchange', 'routing_key', 'priority')

#: Delivery options of a message (``queue``, ``exchange``, ``routing_key``...).
Route = dict[str, Any]
#: What a router may answer: a queue name, a queue, or delivery options.
RouteValue = str | Queue | Mapping[str, Any]
#: A task name (exact or glob) or a compiled regex, as a key of a route map.
RouteKey = str | re.Pattern[str]


def _as_route(value: RouteValue) -> Route:
    """A route value is a queue name, a :class:`~kombu.Queue`, or a dict."""
    if isinstance(value, (str, Queue)):
        return {'queue': value}
    return dict(value)


def _merge_set_values(base: Route, overrides: Mapping[str, Any]) -> Route:
    """Update ``base`` with every value of ``overrides`` that is not None."""
    for key, value in overrides.items():
        if value is not None:
            base[key] = value
    return base


class MapRoute:
    """Router built from a mapping of task name (exact, glob or regex) to route."""

    def __init__(self, map: Mapping[RouteKey, RouteValue]  # noqa: A002
                 | Iterable[tuple[RouteKey, RouteValue]]) -> None:
        items = map.items() if isinstance(map, Mapping) else map
        self.map: dict[str, Route] = {}
        self.patterns: list[tuple[re.Pattern[str], Route]] = []
        for key, value in items:
            route = _as_route(value)
            if isinstance(key, re.Pattern):
                self.patterns.append((key, route))
            elif '*' in key or '?' in key:
                self.patterns.append((re.compile(fnmatch.translate(key)), route))
            else:
                self.map[key] = route

    def __call__(self, name: str, *args: object, **kwargs: object) -> Route | None:
        """Return a copy of the route for task ``name``, or None."""
        route = self.map.get(name)
        if route is not None:
            return dict(route)
        for pattern, route in self.patterns:
            if pattern.match(name):
                return dict(route)
        return None

    def __repr__(self) -> str:
        return f'<MapRoute: {len(self.map)} names, {len(self.patterns)} patterns>'


class Router:
    """Resolve the final delivery options for a task message."""

    def __init__(self, routes: Iterable[object] | None = None,
                 queues: Mapping[str, Queue] | None = None,
                 create_missing: bool = False, app: Celery | None = None) -> None:
        self.app = app
        self.queues = {} if queues is None else queues
        self.routes = [] if routes is None else list(routes)
        self.create_missing = create_missing

    def route(self, options: Mapping[str, Any], name: str, args: Sequence[object] | None = (),
              kwargs: Mapping[str, object] | None = None,
              task_type: Task[..., Any] | None = None) -> Route:
        """Return ``options`` completed with ``queue`` (a kombu Queue) and routing."""
        if not self.routes and 'queue' not in options:
            # The common case -- no task_routes, no queue chosen by the caller
            # -- needs neither the router chain nor a destination to expand.
            merged = self._task_route(task_type) if task_type is not None else {}
            if 'queue' not in merged:
                _merge_set_values(merged, options)
                merged['queue'] = self._default_queue()
                return merged
        kwargs = kwargs or {}
        options = self.expand_destination(dict(options))
        merged = self._task_route(task_type) if task_type is not None else {}
        if self.routes:
            found = self.lookup_route(name, args, kwargs, options, task_type)
            if found:
                _merge_set_values(merged, self.expand_destination(found))
        _merge_set_values(merged, options)
        if 'queue' not in merged:
            merged['queue'] = self._default_queue()
        return merged

    def expand_destination(self, route: RouteValue) -> Route:
        """Turn a queue name inside ``route`` into the :class:`~kombu.Queue` it names."""
        if isinstance(route, (str, Queue)):
            queue, route = route, {}
        else:
            # Read-only mappings are copied; a dict is completed in place.
            route = route if isinstance(route, dict) else dict(route)
            queue = route.pop('queue', None)
        if queue:
            route['queue'] = queue if isinstance(queue, Queue) else self._lookup_queue(queue)
        return route

    def lookup_route(self, name: str, args: Sequence[object] | None = None,
                     kwargs: Mapping[str, object] | None = None,
                     options: Mapping[str, Any] | None = None,
                     task_type: Task[..., Any] | None = None) -> RouteValue | None:
        """Return the first route any router gives for ``name``, or None."""
        for router in self.routes:
            found = self.query_router(router, name, args, kwargs, options, task_type)
            if found is not None:
                return found
        return None

    def query_router(self, router: object, task: str, args: Sequence[object] | None,
                     kwargs: Mapping[str, object] | None,
                     options: Mapping[str, Any] | None,
                     task_type: Task[..., Any] | None) -> RouteValue | None:
        """Ask one router (function, MapRoute or pre-4.0 router object) for a route."""
        # Any: a user's router, of no known class (kombu's maybe_evaluate is untyped).
        found: RouteValue | None
        if isinstance(router, _LazyRouter):
            router = router.evaluate()
        router_: Any = maybe_evaluate(router)
        if hasattr(router_, 'route_for_task'):
            found = router_.route_for_task(task, args, kwargs)
        else:
            found = router_(task, args, kwargs, options, task=task_type)
        return found

    def _lookup_queue(self, name: str) -> Queue:
        try:
            return self.queues[name]
        except KeyError:
            raise QueueNotFound(
                f'Queue {name!r} is not defined in task_queues and '
                f'task_create_missing_queues is disabled: add it to '
                f'task_queues or enable task_create_missing_queues.') from None

    def _task_route(self, task_type: Task[..., Any]) -> Route:
        route: Route = {}
        for attr in TASK_ROUTE_ATTRIBUTES:
            value = getattr(task_type, attr, None)
            if value is not None:
                route[attr] = value
        return self.expand_destination(route) if route else route

    def _default_queue(self) -> Queue:
        default_queue = self._default_queue_name()
        return (self._lookup_queue(default_queue) if default_queue
                else self.expand_destination(default_queue)['queue'])

    def _default_queue_name(self) -> str:
        app = self.app
        if app is None:
            return 'celery'
        if isinstance(app, AppConfiguration):
            return publish_settings(app).default_queue
        queue: str = app.conf.task_default_queue  # an app-like stand-in
        return queue


def expand_router_string(router: str) -> object:
    """Import a router by dotted path; pre-4.0 router classes are instantiated."""
    found = symbol_by_name(router)
    if hasattr(found, 'route_for_task'):
        found = found()
    return found


class _LazyRouter:
    """A router named by import path, imported when first used."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._router: object = None

    def __call__(self, *args: object, **kwargs: object) -> RouteValue | None:
        router: Any = self.evaluate()  # a user's router function or MapRoute
        found: RouteValue | None = router(*args, **kwargs)
        return found

    def evaluate(self) -> object:
        """Import (once) and return the router."""
        if self._router is None:
            self._router = expand_router_string(self.path)
        return self._router

    def __repr__(self) -> str:
        return f'<router {self.path}>'


def _expand_route(route: object) -> object:
    if isinstance(route, (Mapping, list, tuple)):
        return MapRoute(route)
    if isinstance(route, str):
        return _LazyRouter(route)
    return route


def prepare(routes: object) -> list[object]:
    """Expand the :setting:`task_routes` setting into a list of routers."""
    if routes is None:
        return []
    if not isinstance(routes, (list, tuple)):
        routes = (routes,)
    return [_expand_route(route) for route in routes]

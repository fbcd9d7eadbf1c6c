"""``celery graph``: Graphviz (dot) pictures of the bootsteps and of the running cluster."""
from __future__ import annotations

import sys
from itertools import count
from typing import TYPE_CHECKING, Any, ClassVar

import click
from kombu.utils.url import maybe_sanitize_url

from celery.bin.base import CeleryCommand, handle_preload_options
from celery.utils.graph import DependencyGraph, GraphFormatter

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('bootsteps', 'graph', 'workers')

SUBSCRIPTS = str.maketrans('0123456789', '₀₁₂₃₄₅₆₇₈₉')
WORKER_ARGS = ('wmax', 'tmax', 'enumerate', 'nodes', 'threads', 'backend', 'broker',
               'generic')


@click.group()
@click.pass_context
@handle_preload_options
def graph(ctx: click.Context) -> None:
    """The ``celery graph`` command."""


@graph.command(cls=CeleryCommand, context_settings={'allow_extra_args': True})
@click.pass_context
def bootsteps(ctx: click.Context) -> None:
    """Display the bootsteps graph: ``celery graph bootsteps [worker] [consumer]``."""
    worker = ctx.obj.app.WorkController()
    include = {arg.lower() for arg in ctx.args or ('worker', 'consumer')}
    unknown = include - {'worker', 'consumer'}
    if unknown:
        raise click.UsageError(f'Unknown blueprint(s): {", ".join(sorted(unknown))}; '
                               'expected worker and/or consumer.')
    if 'worker' in include:
        dependency_graph = worker.blueprint.graph
        if 'consumer' in include:
            dependency_graph.connect(worker.consumer.blueprint.graph)
    else:
        dependency_graph = worker.consumer.blueprint.graph
    dependency_graph.to_dot(sys.stdout)


def parse_arguments(args: list[str]) -> dict[str, Any]:
    """Parse ``key:value`` (or ``key=value``) arguments; comma-separated values become lists."""
    options: dict[str, Any] = {}
    for arg in args:
        separator = min((arg.find(sep) for sep in ':=' if sep in arg), default=-1)
        key, value = (arg[:separator], arg[separator + 1:]) if separator >= 0 else (arg, '')
        if key not in WORKER_ARGS:
            raise click.UsageError(f'Unknown argument {key!r} for graph workers; expected '
                                   f'one of {", ".join(WORKER_ARGS)} as key:value.')
        options[key] = value.split(',') if ',' in value else value
    return options


class Node:
    """A box in the cluster picture."""

    scheme: ClassVar[dict[str, Any]] = {}

    def __init__(self, label: str, position: int = 0) -> None:
        self.text = label
        self.position = position

    def label(self) -> str:
        """The text shown in the node."""
        return self.text

    def __str__(self) -> str:
        return self.label()


class Service(Node):
    """The broker or the result backend; ``generic`` hides the URL behind the scheme."""

    def __init__(self, url: str, generic: bool = False) -> None:
        super().__init__(url)
        self.generic = generic

    def label(self) -> str:
        """The URL, or ``Broker (amqp://)`` when generic."""
        if self.generic:
            return f'{type(self).__name__} ({self.text.split("://")[0]}://)'
        return self.text


class Broker(Service):
    """The message broker."""

    scheme: ClassVar[dict[str, Any]] = {'shape': 'circle', 'fillcolor': 'cadetblue3', 'color': 'cadetblue4', 'height': 1}


class Backend(Service):
    """The result backend."""

    scheme: ClassVar[dict[str, Any]] = {'shape': 'folder', 'width': 2, 'height': 1, 'color': 'black',
              'fillcolor': 'peachpuff3'}


class Worker(Node):
    """A worker node."""


class Thread(Node):
    """A pool process (or thread) of a worker; shown with its short name."""

    scheme: ClassVar[dict[str, Any]] = {'fillcolor': 'lightcyan4', 'fontcolor': 'yellow', 'shape': 'oval',
              'fontsize': 10, 'width': 0.3, 'color': 'black'}

    def __init__(self, label: str, ids: count) -> None:
        self.real_label = label
        # Every process needs a distinct node id even when labels repeat.
        super().__init__(f'thr-{next(ids)}')


class ClusterFormatter(GraphFormatter):
    """Draws each kind of node with its own colours and shape."""

    def label(self, obj: object) -> str:
        """The node's own label."""
        return obj.label() if isinstance(obj, Node) else str(obj)

    def node(self, obj: object, **attrs: Any) -> str:
        """A node with dependencies (workers and processes)."""
        scheme = dict(obj.scheme) if isinstance(obj, Node) else {}
        if isinstance(obj, Thread):
            scheme['label'] = obj.real_label
        return self.draw_node(obj, dict(self.node_scheme, **scheme), attrs)

    def terminal_node(self, obj: object, **attrs: Any) -> str:
        """A node without dependencies (broker and backend)."""
        scheme = obj.scheme if isinstance(obj, Node) else {}
        return self.draw_node(obj, dict(self.term_scheme, **scheme), attrs)

    def edge(self, a: object, b: object, **attrs: Any) -> str:
        """An arrow; process arrows end in a bar at their worker."""
        if isinstance(a, Thread):
            attrs.update(arrowhead='none', arrowtail='tee')
        return self.draw_edge(a, b, self.edge_scheme, attrs)


def abbreviate(names: list[str], kind: str, maximum: int, numbered: bool) -> list[str]:
    """Keep at most ``maximum`` names, folding the middle ones into a ``W⎨…N⎬`` node."""
    size = len(names)
    if numbered:
        names = [f'{kind}{str(i).translate(SUBSCRIPTS)}' for i in range(1, size + 1)]
    if maximum and size > maximum:
        names = names[:maximum - 1] + [names[-1]]
        names[maximum - 2] = f'{kind[0]}⎨…{str(size - (maximum - 1)).translate(SUBSCRIPTS)}⎬'
    return names


def discover(app: Celery, options: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Worker names and process counts: from ``nodes``/``threads`` or ``inspect stats``."""
    if 'nodes' in options:
        nodes = options['nodes']
        threads = options.get('threads') or []
        return ([nodes] if isinstance(nodes, str) else list(nodes),
                [threads] if isinstance(threads, str) else list(threads))
    replies = app.control.inspect().stats() or {}
    names = sorted(replies)
    return names, [replies[name].get('pool', {}).get('max-concurrency', 0) for name in names]


def cluster_graph(app: Celery, options: dict[str, Any]) -> DependencyGraph:
    """The broker, the backend, every worker and its processes as a dependency graph."""
    wmax = int(options.get('wmax', 4) or 0)
    tmax = int(options.get('tmax', 3) or 0)
    numbered = 'enumerate' in options
    generic = 'generic' in options
    names, threads = discover(app, options)
    shown = abbreviate(names, 'Worker', wmax, numbered)
    if wmax and len(names) > wmax:
        threads = threads[:wmax - 1] + threads[-1:]
    broker_url = options.get('broker') or app.connection_for_read().as_uri()
    broker = Broker(maybe_sanitize_url(broker_url), generic)
    backend_url = options.get('backend', app.conf.result_backend)
    backend = Backend(maybe_sanitize_url(backend_url), generic) if backend_url else None
    deps = DependencyGraph(formatter=ClusterFormatter())
    deps.add_arc(broker)
    if backend is not None:
        deps.add_arc(backend)
    ids = count(1)
    for position, name in enumerate(shown):
        worker = Worker(name, position)
        deps.add_edge(worker, broker)
        if backend is not None:
            deps.add_edge(worker, backend)
        processes = int(threads[position]) if position < len(threads) else 0
        for label in abbreviate([str(p) for p in range(processes)], 'P', tmax, numbered):
            deps.add_edge(Thread(label, ids), worker)
    return deps


@graph.command(cls=CeleryCommand, context_settings={'allow_extra_args': True})
@click.pass_context
def workers(ctx: click.Context) -> None:
    """Display the cluster: ``celery graph workers [wmax:N] [tmax:N] [nodes:a,b] ...``.

    Workers are found with ``inspect stats`` unless ``nodes`` names them
    (with ``threads`` giving their process counts); ``broker`` and
    ``backend`` override the URLs shown, ``generic`` shows only their
    schemes and ``enumerate`` numbers workers and processes.
    """
    cluster_graph(ctx.obj.app, parse_arguments(ctx.args)).to_dot(sys.stdout)

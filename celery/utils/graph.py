"""Dependency graph: ordering of things that depend on other things, and DOT output."""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TextIO

if TYPE_CHECKING:
    # PEP 696 default: a bare ``DependencyGraph`` holds any hashable nodes;
    # typing_extensions is not a run-time dependency.
    from typing_extensions import TypeVar

    #: The graph's node type.
    N = TypeVar('N', bound=Hashable, default=Any)
else:
    from typing import TypeVar

    N = TypeVar('N', bound=Hashable)

__all__ = ('CycleError', 'DependencyGraph', 'GraphFormatter')


class CycleError(Exception):
    """The dependency graph has a cycle, so it cannot be ordered."""

    def __init__(self, cycle: list[object]) -> None:
        self.cycle = cycle
        path = ' -> '.join(str(node) for node in cycle)
        super().__init__(f'dependency cycle: {path}; remove one of these requirements')


class DOT:
    """Graphviz DOT statement templates (``IN``/``INp``: indentation of the graph and its body)."""

    HEAD = '\n{IN}{type} {id} {{\n{INp}graph [{attrs}]\n'
    ATTR = '{name}={value}'
    NODE = '{INp}"{0}" [{attrs}]'
    EDGE = '{INp}"{0}" {dir} "{1}" [{attrs}]'
    ATTRSEP = ', '
    #: Edge operator of each graph type.
    DIRS = {'graph': '--', 'digraph': '->'}
    TAIL = '{IN}}}'


class GraphFormatter:
    """Render the nodes and edges of a graph as Graphviz DOT statements."""

    _attr = DOT.ATTR.strip()
    _node = DOT.NODE.strip()
    _edge = DOT.EDGE.strip()
    _head = DOT.HEAD.strip()
    _tail = DOT.TAIL.strip()

    scheme: dict[str, object] = {
        'shape': 'box',
        'arrowhead': 'vee',
        'style': 'filled',
        'fontname': 'HelveticaNeue',
    }
    edge_scheme: dict[str, object] = {'color': 'darkseagreen4', 'arrowcolor': 'black', 'arrowsize': 0.7}
    node_scheme: dict[str, object] = {'fillcolor': 'palegreen3', 'color': 'palegreen4'}
    term_scheme: dict[str, object] = {'fillcolor': 'palegreen1', 'color': 'palegreen2'}
    graph_scheme: dict[str, object] = {'bgcolor': 'mintcream'}

    def __init__(self, root: object = None, type: str | None = None, id: str | None = None,
                 indent: int = 0, inw: str = ' ' * 4, **scheme: Any) -> None:
        self.id = id or 'dependencies'
        self.root = root
        self.type = type or 'digraph'
        self.direction = DOT.DIRS.get(self.type, '--')
        self.IN = inw * indent
        self.INp = self.IN + inw
        self.scheme = dict(self.scheme, **scheme)
        self.graph_scheme = dict(self.graph_scheme, root=self.label(self.root))

    def FMT(self, fmt: str, *args: object, **kwargs: object) -> str:
        """Fill template ``fmt``, supplying this formatter's indentation (``IN``, ``INp``)."""
        return fmt.format(*args, **dict(kwargs, IN=self.IN, INp=self.INp))

    def attr(self, name: str, value: object) -> str:
        """Format one ``name=value`` attribute, quoting strings."""
        value = f'"{value}"' if isinstance(value, str) else value
        return self._attr.format(name=name, value=value)

    def attrs(self, d: dict[str, object] | None = None,
              scheme: dict[str, object] | None = None) -> str:
        """Format an attribute list from the base scheme, ``scheme`` and ``d``."""
        merged = dict(self.scheme, **(scheme or {}), **(d or {}))
        return DOT.ATTRSEP.join(self.attr(k, v) for k, v in merged.items())

    def head(self, **attrs: object) -> str:
        """Return the opening line of the graph."""
        return self.FMT(self._head, type=self.type, id=self.id,
                        attrs=self.attrs(attrs, self.graph_scheme))

    def tail(self) -> str:
        """Return the closing line of the graph."""
        return self.FMT(self._tail)

    def label(self, obj: object) -> str:
        """Return the text shown for ``obj``."""
        return str(obj)

    def node(self, obj: object, **attrs: object) -> str:
        """Format a node that has dependencies."""
        return self.draw_node(obj, self.node_scheme, attrs)

    def terminal_node(self, obj: object, **attrs: object) -> str:
        """Format a node that depends on nothing."""
        return self.draw_node(obj, self.term_scheme, attrs)

    def edge(self, a: object, b: object, **attrs: object) -> str:
        """Format the edge ``a`` depends on ``b``."""
        return self.draw_edge(a, b, self.edge_scheme, attrs)

    def draw_node(self, obj: object, scheme: dict[str, object] | None = None,
                  attrs: dict[str, object] | None = None) -> str:
        """Format a node statement with the given scheme."""
        return self.FMT(self._node, self.label(obj), attrs=self.attrs(attrs, scheme))

    def draw_edge(self, a: object, b: object, scheme: dict[str, object] | None = None,
                  attrs: dict[str, object] | None = None) -> str:
        """Format an edge statement with the given scheme."""
        return self.FMT(self._edge, self.label(a), self.label(b),
                        dir=self.direction, attrs=self.attrs(attrs, scheme))


class DependencyGraph(Generic[N]):
    """A directed graph where an arc ``A -> B`` means *A depends on B*."""

    def __init__(self, it: Iterable[tuple[N, Iterable[N]]] | None = None,
                 formatter: GraphFormatter | None = None) -> None:
        self.formatter = formatter or GraphFormatter()
        self.adjacent: dict[N, list[N]] = {}
        if it is not None:
            self.update(it)

    def add_arc(self, obj: N) -> None:
        """Add ``obj`` as a node (no-op if already present)."""
        self.adjacent.setdefault(obj, [])

    def add_edge(self, A: N, B: N) -> None:
        """Record that ``A`` depends on ``B``."""
        self.add_arc(B)
        deps = self.adjacent.setdefault(A, [])
        if B not in deps:
            deps.append(B)

    def connect(self, graph: DependencyGraph[N]) -> None:
        """Add all nodes and arcs of ``graph`` to this graph."""
        self.update(graph.items())

    def update(self, it: Iterable[tuple[N, Iterable[N]]]) -> None:
        """Add ``(node, dependencies)`` pairs."""
        for obj, deps in it:
            self.add_arc(obj)
            for dep in deps:
                self.add_edge(obj, dep)

    def edges(self) -> list[N]:
        """Return the nodes that have at least one dependency."""
        return [obj for obj, deps in self.adjacent.items() if deps]

    def valency_of(self, obj: N) -> int:
        """Return how many nodes ``obj`` depends on, directly or indirectly."""
        return len(self._reachable(obj)) - 1

    def topsort(self) -> list[N]:
        """Return the nodes with every dependency placed before its dependents.

        Nodes are visited in insertion order, so independent nodes keep the
        order they were added in.  Raises :exc:`CycleError` naming the cycle.
        """
        done: set[N] = set()
        order: list[N] = []
        for root in self.adjacent:
            if root not in done:
                self._visit(root, done, order)
        return order

    def _visit(self, root: N, done: set[N], order: list[N]) -> None:
        # Iterative depth-first post-order: deep requirement chains must not
        # hit the recursion limit, and the active path names the cycle.
        path: list[N] = [root]
        on_path = {root}
        stack: list[Iterator[N]] = [iter(self.adjacent.get(root, ()))]
        while stack:
            try:
                dep = next(stack[-1])
            except StopIteration:  # the node's dependencies are all placed
                stack.pop()
                node = path.pop()
                on_path.discard(node)
                done.add(node)
                order.append(node)
                continue
            if dep in on_path:
                raise CycleError([*path[path.index(dep):], dep])
            if dep not in done:
                path.append(dep)
                on_path.add(dep)
                stack.append(iter(self.adjacent.get(dep, ())))

    def _reachable(self, obj: N) -> set[N]:
        seen: set[N] = set()
        pending = [obj]
        while pending:
            node = pending.pop()
            if node not in seen:
                seen.add(node)
                pending.extend(self.adjacent.get(node, ()))
        return seen

    def to_dot(self, fh: TextIO, formatter: GraphFormatter | None = None) -> None:
        """Write the graph to ``fh`` in Graphviz DOT format."""
        draw = formatter or self.formatter
        seen: set[str] = set()

        def emit_once(render: Callable[[N], str], obj: N) -> None:
            label = draw.label(obj)
            if label not in seen:
                seen.add(label)
                print(render(obj), file=fh)

        print(draw.head(), file=fh)
        for obj, deps in self.adjacent.items():
            if not deps:
                emit_once(draw.terminal_node, obj)
            for dep in deps:
                emit_once(draw.node, obj)
                print(draw.edge(obj, dep), file=fh)
        print(draw.tail(), file=fh)

    def format(self, obj: N) -> str:
        """Return the formatter's label for ``obj``."""
        return self.formatter.label(obj)

    def items(self) -> Iterator[tuple[N, list[N]]]:
        """Iterate over ``(node, dependencies)`` pairs."""
        return iter(self.adjacent.items())

    iteritems = items

    def repr_node(self, obj: N, level: int = 1, fmt: str = '{0}({1})') -> str:
        """Describe ``obj`` as ``fmt.format(label, valency)``, its dependencies indented below."""
        lines = [fmt.format(self.format(obj), self.valency_of(obj))]
        for dep in self.adjacent.get(obj, ()):
            lines.append('    ' * level + self.repr_node(dep, level + 1, fmt))
        return '\n'.join(lines)

    def __iter__(self) -> Iterator[N]:
        return iter(self.adjacent)

    def __getitem__(self, node: N) -> list[N]:
        return self.adjacent[node]

    def __setitem__(self, node: N, deps: list[N]) -> None:
        self.adjacent[node] = deps

    def __contains__(self, obj: object) -> bool:
        return obj in self.adjacent

    def __len__(self) -> int:
        return len(self.adjacent)

    def __repr__(self) -> str:
        lines = (f'{self.format(obj)}({len(deps)}) -> {", ".join(map(self.format, deps))}'
                 for obj, deps in self.adjacent.items())
        return '\n'.join(lines)


"""DependencyGraph ordering, cycles and DOT output."""
from __future__ import annotations

import io

import pytest

from celery.utils.graph import CycleError, DependencyGraph


def test_topsort_puts_dependencies_first_and_keeps_insertion_order():
    graph = DependencyGraph([('pool', ['hub']), ('hub', ['timer']), ('beat', []), ('timer', [])])
    order = graph.topsort()
    assert order.index('timer') < order.index('hub') < order.index('pool')
    assert order == ['timer', 'hub', 'pool', 'beat']


def test_cycle_error_names_the_cycle():
    graph = DependencyGraph([('a', ['b']), ('b', ['c']), ('c', ['a'])])
    with pytest.raises(CycleError, match='a -> b -> c -> a'):
        graph.topsort()


def test_add_edge_connect_and_edges():
    graph = DependencyGraph()
    graph.add_arc('x')
    graph.add_edge('y', 'x')
    other = DependencyGraph([('z', ['y'])])
    graph.connect(other)
    assert set(graph) == {'x', 'y', 'z'}
    assert set(graph.edges()) == {'y', 'z'}
    assert graph.valency_of('z') == 2
    assert graph.topsort() == ['x', 'y', 'z']


def test_to_dot_writes_nodes_and_edges():
    graph = DependencyGraph([('consumer', ['pool']), ('pool', [])])
    out = io.StringIO()
    graph.to_dot(out)
    text = out.getvalue()
    assert text.startswith('digraph dependencies {')
    assert '"consumer" -> "pool"' in text
    assert '"pool" [' in text
    assert text.rstrip().endswith('}')

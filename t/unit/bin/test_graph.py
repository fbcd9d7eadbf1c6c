"""``celery graph``: valid DOT for the bootsteps and for a described cluster."""
from __future__ import annotations

import re
import shutil
import subprocess

import click
import pytest

from celery import _state
from celery.bin.graph import abbreviate, parse_arguments

NODE = re.compile(r'^ {4}"[^"]+" \[[^\[\]]*\]$')
EDGE = re.compile(r'^ {4}"[^"]+" -> "[^"]+" \[[^\[\]]*\]$')
GRAPH_ATTRS = re.compile(r'^ {4}graph \[[^\[\]]*\]$')


@pytest.fixture(autouse=True)
def restore_join_guard():
    # Building a WorkController in-process (graph bootsteps) marks this
    # process as a worker whose result.get() would block; undo it.
    previous = _state.task_join_will_block()
    yield
    _state._set_task_join_will_block(previous)


def parse_dot(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """Check the statement layout of a DOT digraph; return its node ids and edges."""
    lines = text.strip().splitlines()
    assert re.match(r'^digraph \w+ \{$', lines[0]), lines[0]
    assert lines[-1] == '}' and text.count('{') == text.count('}') == 1
    assert GRAPH_ATTRS.match(lines[1]), lines[1]
    nodes, edges = set(), []
    for line in lines[2:-1]:
        names = re.findall(r'"([^"]+)"(?= |$)', line.split(' [')[0])
        if EDGE.match(line):
            edges.append((names[0], names[1]))
        else:
            assert NODE.match(line), f'not a node or edge statement: {line!r}'
            nodes.add(names[0])
    assert {n for edge in edges for n in edge} <= nodes, 'every edge end is declared'
    if shutil.which('dot'):
        subprocess.run(['dot', '-Tcanon'], input=text, text=True, check=True,
                       capture_output=True, timeout=30)
    return nodes, edges


def test_bootsteps_graph_is_valid_dot(run) -> None:
    result = run('graph', 'bootsteps')
    assert result.exit_code == 0, result.output
    nodes, edges = parse_dot(result.output)
    assert {'Pool', 'Consumer', 'Connection', 'Events'} <= {n.lstrip('∘ ') for n in nodes}
    assert len(edges) >= 5


def test_bootsteps_of_one_blueprint(run) -> None:
    nodes, _ = parse_dot(run('graph', 'bootsteps', 'consumer').output)
    assert 'Connection' in {n.lstrip('∘ ') for n in nodes}
    assert 'Pool' not in {n.lstrip('∘ ') for n in nodes}
    result = run('graph', 'bootsteps', 'nope')
    assert result.exit_code == 2 and 'Unknown blueprint(s): nope' in result.output


def test_workers_from_named_nodes(run) -> None:
    result = run('graph', 'workers', 'nodes:w1,w2', 'threads:2,1',
                 'broker:amqp://guest:secret@h//', 'backend:redis://h/0')
    assert result.exit_code == 0, result.output
    nodes, edges = parse_dot(result.output)
    assert {'w1', 'w2', 'redis://h/0'} <= nodes
    assert ('w1', 'redis://h/0') in edges and ('w2', 'redis://h/0') in edges
    assert 'secret' not in result.output
    assert result.output.count('arrowtail="tee"') == 3, 'one edge per process'


def test_workers_generic_enumerate_and_key_equals_value(run) -> None:
    result = run('graph', 'workers', 'nodes=w1,w2', 'generic', 'enumerate',
                 'broker=amqp://h//', 'backend=redis://h/0')
    nodes, _ = parse_dot(result.output)
    assert {'Worker₁', 'Worker₂', 'Broker (amqp://)', 'Backend (redis://)'} <= nodes


def test_unknown_argument_is_a_usage_error(run) -> None:
    result = run('graph', 'workers', 'colour:blue')
    assert result.exit_code == 2 and "Unknown argument 'colour'" in result.output


def test_parse_arguments() -> None:
    assert parse_arguments(['wmax:10', 'nodes:a,b', 'generic', 'broker:amqp://x//']) == {
        'wmax': '10', 'nodes': ['a', 'b'], 'generic': '', 'broker': 'amqp://x//'}
    with pytest.raises(click.UsageError):
        parse_arguments(['what'])


def test_abbreviate_folds_the_middle() -> None:
    assert abbreviate(list('abcdef'), 'Worker', 4, False) == ['a', 'b', 'W⎨…₃⎬', 'f']
    assert abbreviate(list('ab'), 'Worker', 4, False) == ['a', 'b']
    assert abbreviate(list('ab'), 'P', 0, True) == ['P₁', 'P₂']

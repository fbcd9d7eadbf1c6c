"""No code outside the owned modules touches an underscore attribute of kombu, py-amqp or billiard.

A private attribute is no promise: a kombu, py-amqp or billiard release may
rename it and break the worker silently.  Such reaches live only in the
owned modules below, each of which says at its top which upstream class it
extends and why, and which the supported-versions check
(:mod:`celery.transport.versions`) guards.  Everywhere else the project
goes through the libraries' public API.

The scan reads the source (no import): an attribute access ``x._name`` (or
``getattr(x, '_name')`` and the like) is a reach when

* ``x`` is a name imported from kombu, amqp or billiard in that module, or
* ``_name`` is defined somewhere in kombu, amqp or billiard and nowhere in
  ``celery/`` (so it cannot be one of the project's own attributes);

and ``from kombu... import _name`` is one too.  A name both a library and
the project define (``_connection``) is missed by the second rule: review
catches those.
"""
from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / 'celery'
UPSTREAM = ('kombu', 'amqp', 'billiard')

#: The owned modules: the transports (everything in celery/transport/), the
#: AMQP and Redis consumer helpers and the pool.  Only they may reach in.
OWNED = (
    'celery/transport/*.py',
    'celery/worker/consumer/amqp_*.py',
    'celery/worker/consumer/redis_pipeline.py',
    'celery/concurrency/prefork.py',
    'celery/concurrency/hubpool.py',
    'celery/worker/health.py',
)

_REFLECTION = {'getattr', 'hasattr', 'setattr', 'delattr'}


def _private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def _defined_names(tree: ast.AST) -> set[str]:
    """Every private name a module defines: functions, classes, assignments, imports, arguments."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split('.')[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {name for name in names if _private(name)}


def _parse(path: Path) -> ast.AST | None:
    try:
        return ast.parse(path.read_text(encoding='utf-8'), str(path))
    except (SyntaxError, UnicodeDecodeError):
        return None   # a file kept for another Python version


@cache
def upstream_private_names() -> frozenset[str]:
    """The private names kombu, amqp and billiard define."""
    names: set[str] = set()
    for library in UPSTREAM:
        # (kombu replaces its module object: no __spec__ to ask.)
        origin = importlib.import_module(library).__file__
        assert origin, library
        for path in Path(origin).parent.rglob('*.py'):
            tree = _parse(path)
            if tree is not None:
                names |= _defined_names(tree)
    return frozenset(names)


@cache
def project_trees() -> dict[str, ast.AST]:
    """celery/'s modules, by path relative to the checkout."""
    trees = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        tree = _parse(path)
        assert tree is not None, path
        trees[path.relative_to(ROOT).as_posix()] = tree
    return trees


@cache
def project_private_names() -> frozenset[str]:
    names: set[str] = set()
    for tree in project_trees().values():
        names |= _defined_names(tree)
    return frozenset(names)


def _imported(tree: ast.AST) -> tuple[set[str], set[str], list[tuple[int, str]]]:
    """Names bound to upstream imports, to other imports; private names imported from upstream."""
    upstream: set[str] = set()
    other: set[str] = set()
    private_imports = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split('.')[0]
                top = alias.name.split('.')[0]
                (upstream if top in UPSTREAM else other).add(bound)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split('.')[0]
            for alias in node.names:
                (upstream if top in UPSTREAM else other).add(alias.asname or alias.name)
                if top in UPSTREAM and _private(alias.name):
                    private_imports.append((node.lineno, f'from {node.module} import {alias.name}'))
    return upstream, other - upstream, private_imports


def reaches(path: str, tree: ast.AST) -> list[str]:
    """The private reaches into kombu, amqp and billiard in one module, as ``path:line: what``."""
    upstream_names = upstream_private_names()
    own_names = project_private_names()
    bound_upstream, bound_other, private_imports = _imported(tree)
    found = [f'{path}:{line}: {what}' for line, what in private_imports]
    for node in ast.walk(tree):
        base: ast.expr
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base, attr = node.value, node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in _REFLECTION and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str) and _private(node.args[1].value)):
            base, attr = node.args[0], node.args[1].value
        else:
            continue
        name = base.id if isinstance(base, ast.Name) else None
        if name in bound_upstream:
            found.append(f'{path}:{node.lineno}: {name}.{attr}')
        elif name in bound_other:
            continue   # os._exit, sys._getframe: the standard library's documented ones
        elif attr in upstream_names and attr not in own_names:
            found.append(f'{path}:{node.lineno}: .{attr}')
    return found


def _owned(path: str) -> bool:
    return any(Path(path).match(pattern) for pattern in OWNED)


def test_no_private_reach_outside_the_owned_modules() -> None:
    found = [reach for path, tree in project_trees().items() if not _owned(path)
             for reach in reaches(path, tree)]
    assert found == [], (
        'Private kombu/amqp/billiard attributes outside the owned modules: use the public '
        'API, or move the reach into an owned module under celery/transport/ that says '
        'which upstream class it extends:\n' + '\n'.join(found))


def test_an_owned_transport_module_that_reaches_in_names_what_it_extends() -> None:
    silent = [path for path, tree in project_trees().items()
              if path.startswith('celery/transport/') and reaches(path, tree)
              and not any(library in (ast.get_docstring(tree) or '')  # type: ignore[arg-type]
                          for library in UPSTREAM)]
    assert silent == []


@pytest.mark.parametrize('source, expected', [
    ('from kombu.serialization import registry\nregistry._decoders\n',
     ['m.py:2: registry._decoders']),
    ('from billiard import util\nutil._run_after_forkers()\n',
     ['m.py:2: util._run_after_forkers']),
    ('from kombu.utils.url import _parse_url\n',
     ['m.py:1: from kombu.utils.url import _parse_url']),
    ('def f(pool):\n    return pool._dirty\n', ['m.py:2: ._dirty']),
    ("def f(pool):\n    return getattr(pool, '_dirty', None)\n", ['m.py:2: ._dirty']),
    ('import os\nos._exit(0)\n', []),
    ('class A:\n    def f(self):\n        return self._broadcast_own\n', []),
    ('def f(app):\n    return app.amqp._producer_pool\n', []),
])
def test_what_counts_as_a_reach(source: str, expected: list[str]) -> None:
    assert reaches('m.py', ast.parse(source)) == expected

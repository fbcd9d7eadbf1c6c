"""Print the share of bare ``Any`` among the annotations of celery's public modules.

Counted: parameter, return and annotated-variable annotations in modules
whose dotted name has no part starting with ``_`` (``celery._canvas`` is
private; ``celery.canvas`` is public), on names that are public too.
``*args: Any`` and ``**kwargs: Any`` are counted apart: forwarding
arbitrary options is often what they honestly are.
Usage: ``python extra/any_share.py [--per-module]``.
"""
from __future__ import annotations

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, 'celery')


def public_modules() -> list[tuple[str, str]]:
    """``(dotted name, path)`` of every public module of the package."""
    found = []
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if not d.startswith(('_', '.')))
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            rel = os.path.relpath(os.path.join(folder, name), ROOT)[:-3]
            parts = rel.split(os.sep)
            if parts[-1] == '__init__':
                parts.pop()
            if not any(part.startswith('_') for part in parts):
                found.append(('.'.join(parts), os.path.join(folder, name)))
    return found


def is_bare_any(node: ast.expr | None) -> bool:
    """True for ``Any`` and ``typing.Any`` (also as a string annotation)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.strip() in ('Any', 'typing.Any', 't.Any')
    if isinstance(node, ast.Name):
        return node.id == 'Any'
    return isinstance(node, ast.Attribute) and node.attr == 'Any'


class Counter(ast.NodeVisitor):
    """Counts annotations (and bare ``Any`` ones) on public names."""

    def __init__(self) -> None:
        self.total = self.bare = self.star_total = self.star_bare = 0

    def count(self, node: ast.expr | None, star: bool = False) -> None:
        """Count one annotation (``None``: not annotated, not counted)."""
        if node is None:
            return
        if star:
            self.star_total += 1
            self.star_bare += is_bare_any(node)
        else:
            self.total += 1
            self.bare += is_bare_any(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name.startswith('_') and not node.name.startswith('__'):
            return  # a private function: not part of the API
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.arg not in ('self', 'cls'):
                self.count(arg.annotation)
        for star in (args.vararg, args.kwarg):
            if star is not None:
                self.count(star.annotation, star=True)
        self.count(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not node.name.startswith('_'):
            self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and not node.target.id.startswith('_'):
            self.count(node.annotation)


def main(argv: list[str]) -> int:
    """Print the figures (per module too with ``--per-module``)."""
    overall = Counter()
    for name, path in public_modules():
        with open(path, encoding='utf-8') as source:
            tree = ast.parse(source.read(), path)
        counter = Counter()
        counter.visit(tree)
        if '--per-module' in argv and counter.total:
            print(f'{name:<45} {counter.bare:>4}/{counter.total:<5} '
                  f'{counter.bare / counter.total:6.1%}')
        for field in ('total', 'bare', 'star_total', 'star_bare'):
            setattr(overall, field, getattr(overall, field) + getattr(counter, field))
    share = overall.bare / overall.total if overall.total else 0.0
    star = overall.star_bare / overall.star_total if overall.star_total else 0.0
    print(f'bare Any: {overall.bare} of {overall.total} annotations ({share:.1%}) '
          f'in public modules; *args/**kwargs: {overall.star_bare} of '
          f'{overall.star_total} ({star:.1%})')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

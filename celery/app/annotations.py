"""Task annotations: change task class attributes from configuration.

:setting:`task_annotations` is a dict (task name or ``'*'`` → attributes),
an object with an ``annotate(task)`` method, a dotted path naming such an
object's class, or a list/tuple of those.  Keys starting with ``@`` wrap a
task method (``{'@on_failure': handler}``); applying them is the task's job.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from kombu.utils.imports import symbol_by_name

__all__ = ('MapAnnotation', 'prepare', 'resolve_all')

#: Key of a :class:`MapAnnotation` that matches every task.
MATCH_ANY = '*'


class MapAnnotation(dict[str, Mapping[str, object]]):
    """Annotation from a mapping of task name (or ``'*'``) to attributes."""

    def annotate_any(self) -> dict[str, object] | None:
        """Return the attributes set for every task, if any."""
        found = self.get(MATCH_ANY)
        return dict(found) if found is not None else None

    def annotate(self, task: object) -> dict[str, object] | None:
        """Return the attributes set for ``task`` (a task or task class) by name, if any."""
        found = self.get(getattr(task, 'name', None) or '')
        return dict(found) if found is not None else None


class _LazyAnnotation:
    """An annotation class named by import path, instantiated on first use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._annotation: object = None

    def evaluate(self) -> object:
        """Import and instantiate (once) the annotation class."""
        if self._annotation is None:
            self._annotation = symbol_by_name(self.path)()
        return self._annotation

    def annotate(self, task: object) -> Mapping[str, object] | None:
        """Delegate to the imported annotation."""
        return _call_annotate(self.evaluate(), task)

    def annotate_any(self) -> Mapping[str, object] | None:
        """Delegate to the imported annotation."""
        return _call_annotate_any(self.evaluate())

    def __repr__(self) -> str:
        return f'<annotation {self.path}>'


def _expand(annotation: object) -> object:
    if isinstance(annotation, Mapping):
        return MapAnnotation(annotation)
    if isinstance(annotation, str):
        return _LazyAnnotation(annotation)
    return annotation


def prepare(annotations: object) -> list[object]:
    """Expand the :setting:`task_annotations` setting into a list of annotations."""
    if annotations is None:
        return []
    if not isinstance(annotations, (list, tuple)):
        annotations = (annotations,)
    return [_expand(annotation) for annotation in annotations]


def _call_annotate(annotation: object, task: object) -> Mapping[str, object] | None:
    annotate = getattr(annotation, 'annotate', None)
    if annotate is not None:
        found: Mapping[str, object] | None = annotate(task)
        return found
    if callable(annotation):
        called: Mapping[str, object] | None = annotation(task)
        return called
    return None


def _call_annotate_any(annotation: object) -> Mapping[str, object] | None:
    annotate_any = getattr(annotation, 'annotate_any', None)
    found: Mapping[str, object] | None = annotate_any() if annotate_any is not None else None
    return found


def _first(results: Iterator[Mapping[str, object] | None]) -> Mapping[str, object] | None:
    return next((result for result in results if result), None)


def resolve_all(anno: list[object], task: object) -> Iterator[Mapping[str, object]]:
    """Yield the attribute dicts of annotations ``anno`` for ``task``: by name, then ``'*'``."""
    by_name = _first(_call_annotate(a, task) for a in anno)
    for_any = _first(_call_annotate_any(a) for a in anno)
    return (found for found in (by_name, for_any) if found)

"""Composing work-flows: signatures and the primitives built on them.

``Signature`` describes a single task call; ``chain``, ``group``,
``chord``, ``chunks``, ``xmap`` and ``xstarmap`` combine signatures into
work-flows that serialize to plain dicts and run on any Celery worker.
"""
from celery._canvas.chain import _chain, chain
from celery._canvas.chord import _chord, chord
from celery._canvas.group import group, maybe_unroll_group
from celery._canvas.maps import chunks, xmap, xstarmap
from celery._canvas.signature import (
                                      Signature,
                                      maybe_signature,
                                      maybe_subtask,
                                      signature,
                                      subtask,
                                      task_name_from,
)
from celery._canvas.stamping import StampingVisitor
# Importable from here as in Celery (its canvas module uses them).
from celery._state import current_app  # noqa: F401
from celery.states import IGNORED, REJECTED  # noqa: F401

__all__ = (
    'Signature', 'chain', 'xmap', 'xstarmap', 'chunks', 'group', 'chord',
    'signature', 'maybe_signature', 'subtask', 'maybe_subtask', 'StampingVisitor',
    'maybe_unroll_group', '_chain', '_chord',
)

"""Stamping: attach custom headers to every task of a workflow."""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery._canvas.signature import Signature

__all__ = ('StampingVisitor', 'combine_stamps', 'existing_stamps', 'merge_stamp_values')


class StampingVisitor(metaclass=ABCMeta):
    """Visitor that decides the stamps of each node of a canvas.

    Every ``on_*`` hook that returns a dict contributes stamps (name to
    value) to the node it visits and, for containers, to their children.
    """

    def on_group_start(self, group: Any, **headers: Any) -> dict[str, Any]:
        """Stamps for a group and its members."""
        return {}

    def on_group_end(self, group: Any, **headers: Any) -> None:
        """Called after every member of ``group`` was stamped."""

    def on_chain_start(self, chain: Any, **headers: Any) -> dict[str, Any]:
        """Stamps for a chain and its steps."""
        return {}

    def on_chain_end(self, chain: Any, **headers: Any) -> None:
        """Called after every step of ``chain`` was stamped."""

    @abstractmethod
    def on_signature(self, sig: Signature, **headers: Any) -> dict[str, Any]:
        """Stamps for a single task signature."""

    def on_chord_header_start(self, sig: Any, **header: Any) -> dict[str, Any]:
        """Stamps for a chord header (visited as a group)."""
        from celery._canvas.group import group
        if not isinstance(sig.tasks, group):
            sig.tasks = group(sig.tasks, app=sig._app)
        return self.on_group_start(sig.tasks, **header)

    def on_chord_header_end(self, sig: Any, **header: Any) -> None:
        """Called after the chord header was stamped."""
        self.on_group_end(sig.tasks, **header)

    def on_chord_body(self, sig: Any, **header: Any) -> dict[str, Any]:
        """Stamps for a chord body."""
        return {}

    def on_callback(self, callback: Signature, **header: Any) -> dict[str, Any]:
        """Stamps for a linked callback."""
        return {}

    def on_errback(self, errback: Signature, **header: Any) -> dict[str, Any]:
        """Stamps for a linked errback."""
        return {}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    return [] if value is None else [value]


def existing_stamps(options: Mapping[str, Any]) -> dict[str, Any]:
    """The stamps already set in a signature's ``options``."""
    return {name: options.get(name) for name in options.get('stamped_headers') or ()}


def combine_stamps(layers: Iterable[Mapping[str, Any] | None], append: bool) -> dict[str, Any]:
    """Merge stamp layers (highest precedence first) into options with ``stamped_headers``.

    Without ``append`` the first layer naming a stamp wins; with it the
    values are merged (see :func:`merge_stamp_values`).
    """
    stamps: dict[str, Any] = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            if name == 'stamped_headers':
                continue
            if name not in stamps:
                stamps[name] = value
            elif append:
                stamps[name] = merge_stamp_values(stamps[name], value)
    stamps['stamped_headers'] = list(stamps)
    return stamps


def merge_stamp_values(newer: Any, older: Any) -> Any:
    """Append-stamp two values of one stamp: dicts merge key by key, the rest collect in a list.

    Neither argument is changed: stamps already set on a signature (or on
    a signature it was copied from) must not change behind its back.
    """
    if isinstance(newer, Mapping) and isinstance(older, Mapping):
        merged = dict(older)
        for key, value in newer.items():
            merged[key] = merge_stamp_values(value, older[key]) if key in older else value
        return merged
    return _as_list(newer) + _as_list(older)

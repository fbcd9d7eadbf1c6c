"""The arguments of a retried call: new values matched against the task's signature."""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ('retry_arguments',)

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _positional_slots(fun: Callable[..., Any]) -> dict[str, int] | None:
    """Map each parameter that a keyword can fill to its position (None: no signature)."""
    try:
        parameters = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return None
    slots = {}
    for index, param in enumerate(p for p in parameters if p.kind in _POSITIONAL):
        # A positional-only name given as a keyword lands in **kwargs: no clash.
        if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            slots[param.name] = index
    return slots


def retry_arguments(fun: Callable[..., Any], old_args: Sequence[Any], old_kwargs: Mapping[str, Any],
                    args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None,
                    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The ``(args, kwargs)`` of the next attempt of a call of ``fun``.

    ``args``/``kwargs`` (``None``: unchanged) are the caller's new values.  A
    new keyword naming a parameter that is passed by position replaces that
    position; new positions keep the old keywords they do not clash with.
    Neither the caller's nor the old values are mutated.
    """
    new_args = tuple(old_args if args is None else args)
    new_kwargs = dict(old_kwargs if kwargs is None else kwargs)
    slots = _positional_slots(fun)
    if not slots or not new_kwargs:
        return new_args, new_kwargs
    positions = list(new_args)
    for name in list(new_kwargs):
        index = slots.get(name)
        if index is None or index >= len(positions):
            continue
        if kwargs is not None and name in kwargs:
            positions[index] = new_kwargs.pop(name)  # the caller's keyword wins
        else:
            del new_kwargs[name]  # an old keyword gives way to the new position
    return tuple(positions), new_kwargs

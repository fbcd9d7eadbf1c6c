"""Module attributes imported on first access (``import celery`` stays light)."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ('lazy_module_getattr',)


def lazy_module_getattr(module_name: str, sources: Mapping[str, str],
                        namespace: MutableMapping[str, Any] | None = None,
                        ) -> Callable[[str], Any]:
    """Build a module ``__getattr__`` importing each of ``sources`` from its module on first use.

    ``sources`` maps an attribute name to the module that defines it.  With
    ``namespace`` (the module's ``globals()``) a value is stored there once
    imported, so later lookups no longer reach ``__getattr__``.
    """
    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f'module {module_name!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(source), name)
        if namespace is not None:
            namespace[name] = value
        return value
    return __getattr__

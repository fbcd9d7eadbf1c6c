"""The registry of remote control commands: :class:`Panel` and its decorators.

A command is registered under its name (and alias) with the metadata the CLI
and clients use to call it; the worker's own commands, in
:mod:`celery.worker.control`, register through the same decorators.
"""
from __future__ import annotations

from collections import UserDict
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, overload

__all__ = ('Panel', 'control_command', 'inspect_command', 'controller_info_t', 'ok', 'nok')

#: A remote control command: ``fun(state, **arguments)``.
Handler = TypeVar('Handler', bound=Callable[..., object])


class controller_info_t(NamedTuple):
    """What the CLI and clients know about a command."""

    alias: str | None
    type: str
    visible: bool
    default_timeout: float
    help: str
    signature: str | None
    args: list[tuple[str, Callable[[str], object] | None]] | None
    variadic: str | None


def ok(value: object) -> dict[str, object]:
    """A successful reply."""
    return {'ok': value}


def nok(value: object) -> dict[str, object]:
    """An error reply."""
    return {'error': value}


class Panel(UserDict[str, Callable[..., object]]):
    """Global registry of remote control commands: ``data`` (handlers) and ``meta``."""

    # Shared by every instance on purpose: registering is global.
    data: dict[str, Callable[..., object]] = {}  # noqa: RUF012 - UserDict's data is an instance attribute
    meta: dict[str, controller_info_t] = {}  # noqa: RUF012

    @overload
    @classmethod
    def register(cls, __fun: Handler, **kwargs: Any) -> Handler: ...

    @overload
    @classmethod
    def register(cls, **kwargs: Any) -> Callable[[Handler], Handler]: ...

    @classmethod
    def register(cls, *args: Callable[..., object],
                 **kwargs: Any) -> Callable[..., object]:
        """Register a command (usable bare or with options)."""
        if args:
            return cls._register(**kwargs)(*args)
        return cls._register(**kwargs)

    @classmethod
    def _register(cls, name: str | None = None, alias: str | None = None,
                  type: str = 'control', visible: bool = True,  # noqa: A002 - Celery's option names
                  default_timeout: float = 1.0, help: str | None = None,  # noqa: A002
                  signature: str | None = None,
                  args: list[tuple[str, Callable[[str], object] | None]] | None = None,
                  variadic: str | None = None) -> Callable[[Handler], Handler]:
        def _inner(fun: Handler) -> Handler:
            control_name = name or fun.__name__
            _help = help or (fun.__doc__ or '').strip().split('\n')[0]
            cls.data[control_name] = fun
            cls.meta[control_name] = controller_info_t(
                alias, type, visible, default_timeout, _help, signature, args, variadic)
            if alias:
                cls.data[alias] = fun
            return fun
        return _inner


def control_command(**kwargs: Any) -> Callable[[Handler], Handler]:
    """Register a control command (acts on the worker)."""
    return Panel.register(type='control', **kwargs)


def inspect_command(**kwargs: Any) -> Callable[[Handler], Handler]:
    """Register an inspect command (reads the worker's state)."""
    return Panel.register(type='inspect', **kwargs)

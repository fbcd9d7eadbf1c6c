"""Types the worker's modules share, for type checkers only.

Imported under ``TYPE_CHECKING`` (nothing here is loaded when the worker
runs).  Plugins may import them the same way to type their bootsteps and
remote control commands.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypedDict

if TYPE_CHECKING:
    from collections import deque

    from kombu.asynchronous.timer import Entry

    from celery.app.base import Celery
    from celery.utils.collections import LimitedSet
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.request import Request

__all__ = ('WorkerTimer', 'ControlState', 'RevokedState', 'TokenBucket', 'Service',
           'SoftwareInfo')


class WorkerTimer(Protocol):
    """The worker's timer: kombu's (driven by the hub) or a thread running one."""

    def call_at(self, eta: float | datetime, fun: Callable[..., object],
                args: Sequence[object] = ..., kwargs: Mapping[str, object] | None = ...,
                priority: int = ...) -> Entry:
        """Call ``fun(*args, **kwargs)`` at ``eta``."""

    def call_after(self, secs: float, fun: Callable[..., object],
                   args: Sequence[object] = ..., kwargs: Mapping[str, object] | None = ...,
                   priority: int = ...) -> Entry:
        """Call ``fun(*args, **kwargs)`` in ``secs`` seconds."""

    def call_repeatedly(self, secs: float, fun: Callable[..., object],
                        args: Sequence[object] = ..., kwargs: Mapping[str, object] | None = ...,
                        priority: int = ...) -> Entry:
        """Call ``fun(*args, **kwargs)`` every ``secs`` seconds."""

    def cancel(self, tref: Entry) -> None:
        """Cancel the entry ``tref``."""

    def clear(self) -> None:
        """Drop every entry."""

    def stop(self) -> None:
        """Stop the timer (its thread, if it has one)."""


class ControlState(Protocol):
    """The ``state`` a remote control command receives (see :mod:`celery.worker.control`)."""

    app: Celery
    hostname: str
    consumer: Consumer
    #: The set type the command uses for task ids (``set``, or a no-op with the hub).
    tset: Callable[..., object]


class RevokedState(Protocol):
    """What :class:`celery.worker.state.Persistent` keeps: the revoked ids."""

    revoked: LimitedSet


class TokenBucket(Protocol):
    """A task's rate limit bucket (:class:`kombu.utils.limits.TokenBucket`)."""

    #: Requests waiting for tokens, with the tokens each needs.
    contents: deque[tuple[Request, int]]

    def can_consume(self, tokens: int = ...) -> bool:
        """Whether ``tokens`` can be taken now (and take them)."""

    def expected_time(self, tokens: int = ...) -> float:
        """Seconds until ``tokens`` will be available."""

    def add(self, item: tuple[Request, int]) -> None:
        """Queue a request waiting for tokens."""

    def pop(self) -> tuple[Request, int]:
        """The next request waiting for tokens (:exc:`IndexError` when none)."""

    def clear_pending(self) -> None:
        """Drop every request waiting for tokens."""


class Service(Protocol):
    """A service a step starts and stops with the worker (embedded beat, agents)."""

    def start(self) -> None:
        """Start the service."""

    def stop(self) -> None:
        """Stop the service."""


class SoftwareInfo(TypedDict):
    """The worker's software details, sent with its heartbeats."""

    sw_ident: str
    sw_ver: str
    sw_sys: str

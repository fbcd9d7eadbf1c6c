"""Task message builders: task protocol 2 (and legacy 1) messages from a call's options.

:class:`TaskMessageBuilder` is the base class of :class:`celery.app.amqp.AMQP`, which
re-exports the names here that Celery has in ``celery.app.amqp``.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from celery.app.publish import forks as _forks
from celery.exceptions import ImproperlyConfigured
from celery.utils.log import get_logger
from celery.utils.nodenames import anon_nodename
from celery.utils.saferepr import saferepr

if TYPE_CHECKING:
    from celery._protocol import AnyTaskBody, TaskBody, TaskBodyV1, TaskHeaders
    from celery.app.base import Celery

__all__ = ('INT_MIN', 'TaskMessageBuilder', 'fast_saferepr', 'plain_repr', 'task_message')

# The logger keeps its name from before the builders had a module of their own.
logger = get_logger('celery.app.amqp')

#: Smallest countdown/expires accepted (the AMQP signed 32-bit int range).
INT_MIN = -2147483648

#: Types whose ``repr`` inside a list/tuple/dict equals ``saferepr``.
_PLAIN_REPR_TYPES = frozenset({int, float, bool, type(None), str})

#: A signature as the message carries it (a :class:`~celery.Signature` is a dict).
_SignatureDict = dict[str, Any]


class task_message(NamedTuple):
    """A task message ready to publish."""

    headers: TaskHeaders
    properties: dict[str, Any]
    body: AnyTaskBody
    sent_event: dict[str, Any] | None


def _is_plain(obj: object) -> bool:
    return type(obj) in _PLAIN_REPR_TYPES


def plain_repr(obj: object, maxsize: int) -> str | None:
    """``repr`` of a short list/tuple/dict of plain values (None for anything else)."""
    # Exact types (subclasses may repr differently), hence no isinstance.
    kind = type(obj)
    if kind is tuple or kind is list:
        plain = all(map(_is_plain, obj))  # type: ignore[call-overload]
    elif kind is dict:
        plain = (all(map(_is_plain, obj.values()))  # type: ignore[attr-defined]
                 and all(map(_is_plain, obj)))  # type: ignore[call-overload]
    else:
        plain = False
    if plain:
        text = repr(obj)
        if len(text) <= maxsize:
            return text
    return None


def fast_saferepr(obj: object, maxsize: int, maxlevels: int = 3) -> str:
    """``saferepr(obj, maxsize, maxlevels)``, skipping the slow path for short plain containers."""
    text = plain_repr(obj, maxsize)
    return saferepr(obj, maxsize, maxlevels) if text is None else text


def _verify_seconds(seconds: float, what: str) -> float:
    if seconds < INT_MIN:
        raise ValueError(f'{what} is out of range: {seconds!r}')
    return seconds


class TaskMessageBuilder:
    """Builds task messages for an app; the base class of :class:`~celery.app.amqp.AMQP`."""

    #: Max length of the ``argsrepr`` header.
    argsrepr_maxsize = 1024

    #: Max length of the ``kwargsrepr`` header.
    kwargsrepr_maxsize = 1024

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.task_protocols: dict[int, Callable[..., task_message]] = {
            1: self.as_task_v1, 2: self.as_task_v2}
        self._origin_pid = -1  # the fork count the origin name was made in
        self._origin_name = ''

    @cached_property
    def utc(self) -> bool:
        """Whether eta/expires are sent in UTC (:setting:`enable_utc`)."""
        return bool(self.app.conf.enable_utc)

    @cached_property
    def create_task_message(self) -> Callable[..., task_message]:
        """The builder for :setting:`task_protocol` (:meth:`as_task_v2` by default)."""
        protocol = self.app.conf.task_protocol
        try:
            return self.task_protocols[int(protocol)]
        except (KeyError, ValueError, TypeError):
            raise ImproperlyConfigured(
                f'Unknown task_protocol {protocol!r}: use 1 or 2.') from None

    def _times(self, countdown: float | None, eta: datetime | str | None,
               expires: float | datetime | str | None,
               now: datetime | None, timezone: tzinfo | None,
               ) -> tuple[str | None, str | None, float | None]:
        """Return the eta and expires ISO strings, and the expiration TTL in seconds."""
        if now is None and (countdown or expires is not None):
            now = self.app.now()
        timezone = timezone or self.app.timezone
        # (``now`` is set whenever countdown or expires is: the checks are for mypy.)
        if countdown and now is not None:
            eta = now + timedelta(seconds=_verify_seconds(countdown, 'countdown'))
        elif isinstance(eta, datetime):
            eta = _make_aware(eta, timezone)
        ttl: float | None = None
        expires_at: datetime | str | None = None
        if now is None or expires is None:
            pass
        elif isinstance(expires, str):
            expires_at = expires
            ttl = (_make_aware(datetime.fromisoformat(expires), timezone) - now).total_seconds()
        elif isinstance(expires, datetime):
            expires_at = _make_aware(expires, timezone)
            ttl = (expires_at - now).total_seconds()
        elif isinstance(expires, numbers.Real):
            ttl = _verify_seconds(float(expires), 'expires')
            expires_at = now + timedelta(seconds=ttl)
        if ttl is not None and ttl < 0:
            logger.warning(
                'Task expires %.3fs in the past; sending it with expiration 0 '
                '(RabbitMQ drops it unless a consumer takes it at once).', -ttl)
            ttl = 0
        return _isoformat(eta), _isoformat(expires_at), ttl

    def _reprs(self, args: Sequence[object], kwargs: Mapping[str, object], argsrepr: str | None,
               kwargsrepr: str | None) -> tuple[str, str]:
        if argsrepr is None:
            argsrepr = (plain_repr(args, self.argsrepr_maxsize)
                        or self._deep_repr(args, self.argsrepr_maxsize))
        if kwargsrepr is None:
            kwargsrepr = (plain_repr(kwargs, self.kwargsrepr_maxsize)
                          or self._deep_repr(kwargs, self.kwargsrepr_maxsize))
        return argsrepr, kwargsrepr

    def _deep_repr(self, obj: object, maxsize: int) -> str:
        # Only nested or long values get here, so the setting is read only then.
        return saferepr(obj, maxsize, self.app.conf.task_repr_maxlevels)

    def as_task_v2(self, task_id: str, name: str, args: Sequence[Any] | None = None,
                   kwargs: Mapping[str, Any] | None = None,
                   countdown: float | None = None, eta: datetime | str | None = None,
                   group_id: str | None = None, group_index: int | None = None,
                   expires: float | datetime | str | None = None, retries: int = 0,
                   chord: _SignatureDict | None = None,
                   callbacks: list[_SignatureDict] | None = None,
                   errbacks: list[_SignatureDict] | None = None,
                   reply_to: str | None = None, time_limit: float | None = None,
                   soft_time_limit: float | None = None,
                   create_sent_event: bool = False, root_id: str | None = None,
                   parent_id: str | None = None, shadow: str | None = None,
                   chain: list[_SignatureDict] | None = None, now: datetime | None = None,
                   timezone: tzinfo | None = None, origin: str | None = None,
                   ignore_result: bool = False, argsrepr: str | None = None,
                   kwargsrepr: str | None = None, stamped_headers: list[str] | None = None,
                   replaced_task_nesting: int = 0, **options: Any) -> task_message:
        """Build a task protocol 2 message (headers carry the metadata)."""
        args, kwargs = _checked_arguments(args, kwargs)
        eta, expires, ttl = self._times(countdown, eta, expires, now, timezone)
        argsrepr, kwargsrepr = self._reprs(args, kwargs, argsrepr, kwargsrepr)
        root_id = root_id or task_id
        stamps = options.pop('stamps', None)
        if stamps is None:
            stamps = {header: options[header] for header in stamped_headers or ()
                      if header in options}
        # Task protocol 2 header keys: Celery's message format, kept for compatibility.
        headers: TaskHeaders = {
            'lang': 'py',
            'task': name,
            'id': task_id,
            'shadow': shadow,
            'eta': eta,
            'expires': expires,
            'group': group_id,
            'group_index': group_index,
            'retries': retries,
            'timelimit': [time_limit, soft_time_limit],
            'root_id': root_id,
            'parent_id': parent_id,
            'argsrepr': argsrepr,
            'kwargsrepr': kwargsrepr,
            'origin': origin or self._origin,
            'ignore_result': ignore_result,
            'replaced_task_nesting': replaced_task_nesting,
            'stamped_headers': stamped_headers,
            'stamps': stamps,
        }
        properties: dict[str, Any] = {'correlation_id': task_id, 'reply_to': reply_to or ''}
        if ttl is not None:
            properties['expiration'] = ttl
        body: TaskBody = (args, kwargs, {
            'callbacks': callbacks,
            'errbacks': errbacks,
            'chain': chain,
            'chord': chord,
        })
        sent_event = None
        if create_sent_event:
            sent_event = _sent_event(task_id, name, root_id, parent_id, argsrepr,
                                     kwargsrepr, retries, eta, expires)
        return task_message(headers, properties, body, sent_event)

    def as_task_v1(self, task_id: str, name: str, args: Sequence[Any] | None = None,
                   kwargs: Mapping[str, Any] | None = None,
                   countdown: float | None = None, eta: datetime | str | None = None,
                   group_id: str | None = None, group_index: int | None = None,
                   expires: float | datetime | str | None = None, retries: int = 0,
                   chord: _SignatureDict | None = None,
                   callbacks: list[_SignatureDict] | None = None,
                   errbacks: list[_SignatureDict] | None = None,
                   reply_to: str | None = None, time_limit: float | None = None,
                   soft_time_limit: float | None = None,
                   create_sent_event: bool = False, root_id: str | None = None,
                   parent_id: str | None = None, shadow: str | None = None,
                   now: datetime | None = None, timezone: tzinfo | None = None,
                   **compat_kwargs: Any) -> task_message:
        """Build a legacy task protocol 1 message (the body carries the metadata)."""
        args, kwargs = _checked_arguments(args, kwargs)
        eta, expires, ttl = self._times(countdown, eta, expires, now, timezone)
        properties: dict[str, Any] = {'correlation_id': task_id, 'reply_to': reply_to or ''}
        if ttl is not None:
            properties['expiration'] = ttl
        # Task protocol 1 body keys: Celery's message format, kept for compatibility.
        body: TaskBodyV1 = {
            'task': name,
            'id': task_id,
            'args': args,
            'kwargs': kwargs,
            'group': group_id,
            'group_index': group_index,
            'retries': retries,
            'eta': eta,
            'expires': expires,
            'utc': self.utc,
            'callbacks': callbacks,
            'errbacks': errbacks,
            'timelimit': (time_limit, soft_time_limit),
            'taskset': group_id,
            'chord': chord,
        }
        sent_event = None
        if create_sent_event:
            argsrepr, kwargsrepr = self._reprs(args, kwargs, None, None)
            sent_event = _sent_event(task_id, name, root_id or task_id, parent_id,
                                     argsrepr, kwargsrepr, retries, eta, expires)
        return task_message({}, properties, body, sent_event)

    @property
    def _origin(self) -> str:
        # The pid is part of the name, so recompute it in a forked child
        # (noticed through a counter bumped at fork: cheaper than getpid()).
        forks = _forks[0]
        if self._origin_pid != forks:
            self._origin_pid, self._origin_name = forks, anon_nodename()
        return self._origin_name


def _checked_arguments(args: object, kwargs: object) -> tuple[Sequence[Any], Mapping[str, Any]]:
    args = args or ()
    kwargs = kwargs or {}
    if not isinstance(args, (list, tuple)):
        raise TypeError(f'task args must be a list or tuple, not {type(args).__name__}')
    if not isinstance(kwargs, Mapping):
        raise TypeError(f'task keyword arguments must be a mapping, not {type(kwargs).__name__}')
    return args, kwargs


def _make_aware(value: datetime, timezone: tzinfo) -> datetime:
    if value.tzinfo is not None:
        return value
    localize = getattr(timezone, 'localize', None)
    return localize(value) if localize is not None else value.replace(tzinfo=timezone)


def _isoformat(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _sent_event(task_id: str, name: str, root_id: str | None, parent_id: str | None,
                argsrepr: str, kwargsrepr: str, retries: int, eta: str | None,
                expires: str | None) -> dict[str, Any]:
    # Fields of the ``task-sent`` event: Celery's event format, kept for compatibility.
    return {
        'uuid': task_id,
        'root_id': root_id,
        'parent_id': parent_id,
        'name': name,
        'args': argsrepr,
        'kwargs': kwargsrepr,
        'retries': retries,
        'eta': eta,
        'expires': expires,
    }

"""Mock task messages (protocol 1 and 2) and context-manager mocks for unit tests."""
from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from unittest.mock import Mock

from kombu.serialization import dumps
from kombu.utils.uuid import uuid

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.canvas import Signature

__all__ = ('ContextMock', 'TaskMessage', 'TaskMessage1', 'task_message_from_sig')


def TaskMessage(name: str, id: str | None = None, args: Sequence[Any] = (),
                kwargs: dict[str, Any] | None = None,
                callbacks: list[dict[str, Any]] | None = None,
                errbacks: list[dict[str, Any]] | None = None,
                chain: list[dict[str, Any]] | None = None, shadow: str | None = None,
                utc: bool | None = None, **options: Any) -> Mock:
    """A mock of a received protocol-2 task message (headers + json body)."""
    id = id or uuid()
    message = Mock(name=f'TaskMessage-{id}')
    message.headers = {'id': id, 'task': name, 'shadow': shadow, **options}
    embed = {'callbacks': callbacks, 'errbacks': errbacks, 'chain': chain}
    payload = (args, kwargs, embed)
    message.content_type, message.content_encoding, message.body = dumps(
        payload, serializer='json')
    message.payload = payload
    return message


def TaskMessage1(name: str, id: str | None = None, args: Sequence[Any] = (),
                 kwargs: dict[str, Any] | None = None,
                 callbacks: list[dict[str, Any]] | None = None,
                 errbacks: list[dict[str, Any]] | None = None,
                 chain: list[dict[str, Any]] | None = None, **options: Any) -> Mock:
    """A mock of a received protocol-1 task message (everything in the body)."""
    id = id or uuid()
    message = Mock(name=f'TaskMessage-{id}')
    message.headers = {}
    message.payload = {'task': name, 'id': id, 'args': args, 'kwargs': kwargs,
                       'callbacks': callbacks, 'errbacks': errbacks, **options}
    message.content_type, message.content_encoding, message.body = dumps(
        message.payload, serializer='json')
    return message


def _as_iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def task_message_from_sig(app: Celery, sig: Signature, utc: bool = True,
                          TaskMessage: Callable[..., Mock] = TaskMessage) -> Mock:
    """A mock message for signature ``sig``, as the worker would receive it."""
    sig.freeze()
    options = dict(sig.options)
    callbacks = options.pop('link', None)
    errbacks = options.pop('link_error', None)
    countdown = options.pop('countdown', None)
    eta = options.pop('eta', None)
    if countdown:
        eta = app.now() + timedelta(seconds=countdown)
    expires = options.pop('expires', None)
    if isinstance(expires, numbers.Real):
        expires = app.now() + timedelta(seconds=expires)
    return TaskMessage(
        sig.task, id=sig.id, args=sig.args, kwargs=sig.kwargs,
        callbacks=[dict(s) for s in callbacks] if callbacks else None,
        errbacks=[dict(s) for s in errbacks] if errbacks else None,
        eta=_as_iso(eta), expires=_as_iso(expires), utc=utc, **options,
    )


class _ContextMock(Mock):
    """A Mock usable in ``with`` statements (returns itself on enter)."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


def ContextMock(*args: Any, **kwargs: Any) -> Mock:
    """A Mock that works as a context manager; ``__enter__`` returns the mock."""
    obj = _ContextMock(*args, **kwargs)
    obj.attach_mock(_ContextMock(), '__enter__')
    obj.attach_mock(_ContextMock(), '__exit__')
    obj.__enter__.return_value = obj
    obj.__exit__.return_value = None
    return obj

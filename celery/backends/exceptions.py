"""How exceptions cross the wire in result meta (SURFACE 7.4).

With pickle the exception object itself is stored; with every other
serializer a dict ``{'exc_type', 'exc_message', 'exc_module'}`` is stored
and turned back into an exception on the client.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from celery import exceptions as celery_exceptions
from celery.exceptions import SecurityError
from celery.utils.serialization import (
    create_exception_cls,
    ensure_serializable,
    get_pickleable_exception,
    get_pickled_exception,
)

__all__ = (
    'EXCEPTION_ABLE_CODECS',
    'exception_from_dict',
    'exception_to_dict',
    'exception_to_python',
    'prepare_exception',
)

#: Serializers that can carry exception objects as they are.
EXCEPTION_ABLE_CODECS = frozenset({'pickle'})


def exception_to_dict(exc: BaseException, encode: Callable[[Any], Any]) -> dict[str, Any]:
    """Describe ``exc`` as a JSON-safe dict; arguments ``encode`` refuses become reprs."""
    exc_type = type(exc)
    return {
        'exc_type': getattr(exc_type, '__qualname__', exc_type.__name__),
        'exc_message': ensure_serializable(exc.args, encode),
        'exc_module': exc_type.__module__,
    }


def _resolve_class(exc_type: str, exc_module: str | None) -> Any:
    if exc_module is None:
        return create_exception_cls(exc_type, __name__)
    # Only modules already imported are searched: importing a module named
    # by a message would let the sender run that module's import-time code.
    try:
        cls: Any = sys.modules[exc_module]
        for name in exc_type.split('.'):
            cls = getattr(cls, name)
    except (KeyError, AttributeError):
        return create_exception_cls(exc_type, celery_exceptions.__name__)
    return cls


def exception_from_dict(data: dict[str, Any]) -> BaseException:
    """Rebuild an exception from its dict form; refuse non-exception classes."""
    try:
        exc_type = data['exc_type']
    except KeyError:
        raise ValueError(
            'Exception information must include the exception type '
            f'(got keys {sorted(data)!r})') from None
    exc_module = data.get('exc_module')
    exc_message = data.get('exc_message', '')
    cls = _resolve_class(exc_type, exc_module)
    if not isinstance(cls, type) or not issubclass(cls, BaseException):
        fake_type = exc_type if exc_module is None else f'{exc_module}.{exc_type}'
        raise SecurityError(
            f'Expected an exception class, got {fake_type} with payload {exc_message!r}: '
            'the result meta names a non-exception type and was refused')
    try:
        if isinstance(exc_message, (tuple, list)):
            return cls(*exc_message)
        return cls(exc_message)
    except Exception:  # noqa: BLE001 - a class with a strict __init__ still reports
        return Exception(f'{cls}({exc_message})')


def prepare_exception(exc: BaseException, serializer: str,
                      encode: Callable[[Any], Any]) -> BaseException | dict[str, Any]:
    """Convert ``exc`` to what the ``serializer`` can store."""
    if serializer in EXCEPTION_ABLE_CODECS:
        return get_pickleable_exception(exc)
    return exception_to_dict(exc, encode)


def exception_to_python(exc: BaseException | Mapping[str, Any] | None,
                        serializer: str) -> BaseException | None:
    """Convert stored exception data back to an exception instance."""
    if not exc:
        return None
    if isinstance(exc, BaseException):
        if serializer in EXCEPTION_ABLE_CODECS:
            return get_pickled_exception(exc)
        return exc
    if not isinstance(exc, dict):
        try:
            exc = dict(exc)
        except (TypeError, ValueError) as err:
            raise TypeError(
                "If the stored exception isn't an instance of BaseException, "
                f'it must be a dictionary.\nInstead got: {exc!r}') from err
    return exception_from_dict(exc)

"""Helpers that make exceptions and arbitrary values safe to serialize."""
from __future__ import annotations

import datetime
import decimal
import pickle
import uuid
from base64 import b64decode as _b64decode
from base64 import b64encode as _b64encode
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from inspect import getmro
from itertools import takewhile
from typing import TYPE_CHECKING, Any

__all__ = (
    'UnpickleableExceptionWrapper', 'subclass_exception',
    'find_pickleable_exception', 'create_exception_cls',
    'get_pickleable_exception', 'get_pickleable_etype',
    'get_pickled_exception', 'strtobool', 'raise_with_context',
    'b64encode', 'b64decode', 'jsonify', 'ensure_serializable',
)

#: Strings accepted by :func:`strtobool`.
STRTOBOOL_DEFAULT_TABLE = {
    'false': False, 'no': False, '0': False, 'off': False,
    'true': True, 'yes': True, '1': True, 'on': True,
}

#: Base classes :func:`find_pickleable_exception` never falls back to: they
#: would lose the error's type without making anything more pickleable.
unwanted_base_classes = (Exception, BaseException, object)


def subclass_exception(name: str, parent: type, module: str) -> type:
    """Create a new exception class named ``name`` derived from ``parent``."""
    return type(name, (parent,), {'__module__': module})


def create_exception_cls(name: str, module: str, parent: type | None = None) -> type:
    """Dynamically create an exception class (used for unknown remote errors)."""
    return subclass_exception(name, parent or Exception, module)


def _is_pickleable(value: object) -> bool:
    try:
        pickle.loads(pickle.dumps(value))
    except Exception:  # noqa: BLE001 - any failure means "not pickleable"
        return False
    return True


def find_pickleable_exception(exc: BaseException,
                              loads: Callable[[bytes], object] = pickle.loads,
                              dumps: Callable[[object], bytes] = pickle.dumps,
                              ) -> BaseException | None:
    """Return the first pickleable base class of ``exc`` instantiated with its args."""
    args = getattr(exc, 'args', [])
    for supercls in itermro(exc.__class__, unwanted_base_classes):
        try:
            candidate: BaseException = supercls(*args)
            loads(dumps(candidate))
        except Exception:  # noqa: BLE001 - try the next base class
            continue
        return candidate
    return None


def itermro(cls: type, stop: tuple[type, ...]) -> Iterator[type]:
    """Iterate the MRO of ``cls`` until one of the ``stop`` classes."""
    return takewhile(lambda sup: sup not in stop, getmro(cls))


def _safe_repr_args(args: Iterable[object]) -> tuple[object, ...]:
    safe = []
    for arg in args:
        safe.append(arg if _is_pickleable(arg) else repr(arg))
    return tuple(safe)


class UnpickleableExceptionWrapper(Exception):
    """Wraps an exception that cannot be pickled, keeping its name, module and text."""

    #: Module of the original exception.
    exc_module: str
    #: Class name of the original exception.
    exc_cls_name: str
    #: Pickle-safe arguments of the original exception.
    exc_args: tuple[object, ...]
    if not TYPE_CHECKING:
        exc_module = exc_cls_name = exc_args = None  # set per instance

    def __init__(self, exc_module: str, exc_cls_name: str, exc_args: Iterable[object],
                 text: str | None = None) -> None:
        self.exc_module = exc_module
        self.exc_cls_name = exc_cls_name
        self.exc_args = _safe_repr_args(exc_args)
        self.text = text
        super().__init__(exc_module, exc_cls_name, self.exc_args, text)

    def restore(self) -> BaseException:
        """Rebuild the original exception (a synthesized class if unknown)."""
        cls = create_exception_cls(self.exc_cls_name, self.exc_module)
        restored: BaseException = cls(*self.exc_args)
        return restored

    def __str__(self) -> str:
        return self.text or ''

    @classmethod
    def from_exception(cls, exc: BaseException) -> UnpickleableExceptionWrapper:
        """Wrap ``exc``."""
        return cls(exc.__class__.__module__, exc.__class__.__name__,
                   getattr(exc, 'args', []), safe_str(exc))


def safe_str(value: object) -> str:
    """Return ``str(value)`` or a placeholder when ``__str__`` fails."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the error
        return f'<unprintable {type(value).__name__} object>'


def get_pickleable_exception(exc: BaseException) -> BaseException:
    """Return ``exc`` if it pickles, else a pickle-safe stand-in."""
    if _is_pickleable(exc):
        return exc
    return UnpickleableExceptionWrapper.from_exception(exc)


def get_pickleable_etype(cls: type, loads: Callable[[bytes], object] = pickle.loads,
                         dumps: Callable[[object], bytes] = pickle.dumps) -> type:
    """Return ``cls`` if it pickles, else :class:`Exception`."""
    try:
        loads(dumps(cls))
    except Exception:  # noqa: BLE001 - fall back to the generic type
        return Exception
    return cls


def get_pickled_exception(exc: BaseException) -> BaseException:
    """Reverse :func:`get_pickleable_exception`."""
    if isinstance(exc, UnpickleableExceptionWrapper):
        return exc.restore()
    return exc


def strtobool(term: str | bool, table: dict[str, bool] | None = None) -> bool:
    """Convert a common boolean string (``yes``, ``off``, ``1``...) to :class:`bool`."""
    if isinstance(term, str):
        table = STRTOBOOL_DEFAULT_TABLE if table is None else table
        try:
            return table[term.lower()]
        except KeyError:
            raise TypeError(f'Cannot coerce {term!r} to type bool') from None
    return term


def raise_with_context(exc: BaseException) -> None:
    """Raise ``exc`` chained to the exception currently being handled."""
    import sys
    exc_info = sys.exc_info()
    if not exc_info[1]:
        raise exc
    if exc_info[1] is exc:
        raise
    raise exc from exc_info[1]


def b64encode(s: bytes) -> str:
    """Base64-encode ``s`` to text."""
    return _b64encode(s).decode('ascii')


def b64decode(s: str | bytes) -> bytes:
    """Decode base64 text or bytes."""
    return _b64decode(s)


def _jsonify_datetime(value: datetime.datetime) -> str:
    text = value.isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    if text.endswith('+00:00'):
        text = text[:-6] + 'Z'
    return text


def jsonify(obj: object, builtin_types: tuple[type, ...] = (int, float, str),
            key: object = None, keyfilter: Callable[[Any], bool] | None = None,
            unknown_type_filter: Callable[[Any], object] | None = None) -> object:
    """Convert ``obj`` to values that :mod:`json` can encode."""
    convert = partial(jsonify, builtin_types=builtin_types, key=key,
                      keyfilter=keyfilter, unknown_type_filter=unknown_type_filter)
    if obj is None or isinstance(obj, (bool, *builtin_types)):
        return obj
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [convert(v) for v in obj]
    if isinstance(obj, dict):
        return {k: convert(v, key=k) for k, v in obj.items()
                if (keyfilter(k) if keyfilter else True)}
    if isinstance(obj, (decimal.Decimal, uuid.UUID)):
        return str(obj)
    if isinstance(obj, datetime.datetime):
        return _jsonify_datetime(obj)
    if isinstance(obj, datetime.date):
        return obj.isoformat()
    if isinstance(obj, datetime.time):
        text = obj.isoformat()
        return text[:12] if obj.microsecond else text
    if isinstance(obj, datetime.timedelta):
        return str(obj)
    if unknown_type_filter is None:
        raise ValueError(f'Unsupported type: {type(obj)!r} {obj!r} (parent: {key})')
    return unknown_type_filter(obj)


def ensure_serializable(items: Iterable[object],
                        encoder: Callable[[object], object]) -> tuple[object, ...]:
    """Return ``items`` with every element that ``encoder`` rejects replaced by its repr."""
    safe: list[object] = []
    for item in items:
        try:
            encoder(item)
        except Exception:  # noqa: BLE001 - anything the encoder refuses becomes text
            item = repr(item)
        safe.append(item)
    return tuple(safe)


#: What to do when a serializer is missing: name -> hint.
SERIALIZER_HINTS = {
    'auth': "call app.setup_security() first (see the Security guide); it needs "
            "pip install 'celery[auth]'",
    'msgpack': "pip install 'celery[msgpack]'",
    'yaml': "pip install 'celery[yaml]'",
}


def serializer_not_installed(name: str) -> Exception:
    """The error for a serializer name that kombu's registry doesn't know."""
    from celery.exceptions import ImproperlyConfigured
    hint = SERIALIZER_HINTS.get(name, 'register it with kombu.serialization.register()')
    return ImproperlyConfigured(f'Serializer {name!r} is not available: {hint}.')


def prepare_accept_content(names: Iterable[str] | None) -> set[str] | None:
    """Content types for the serializer names in ``names`` (kombu's, with a clear error)."""
    from kombu.exceptions import SerializerNotInstalled
    from kombu.serialization import prepare_accept_content as prepare
    try:
        accepted: set[str] | None = prepare(names)
        return accepted
    except (KeyError, SerializerNotInstalled) as exc:
        from kombu.serialization import registry
        known = set(registry.name_to_type) | set(registry.type_to_name)
        unknown = [name for name in names or () if name not in known]
        raise serializer_not_installed(unknown[0] if unknown else str(exc)) from exc


"""One setting's description (:class:`Option`) and the value converters it uses."""
from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

__all__ = (
    'OLD_NS', 'OLD_NS_BEAT', 'OLD_NS_WORKER', 'Namespace', 'Option', 'old_ns', 'parse_bool',
    'serializer_names', 'compression_names', 'timezone_name',
)

_TRUE_WORDS = frozenset({'y', 'yes', 't', 'true', 'on', '1'})
_FALSE_WORDS = frozenset({'n', 'no', 'f', 'false', 'off', '0', ''})


def parse_bool(value: object) -> bool:
    """Read a boolean from text like ``yes``/``no``/``1``/``0`` (bools pass through)."""
    if not isinstance(value, str):
        return bool(value)
    word = value.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f'cannot read {value!r} as a boolean (use yes/no, true/false, 1/0)')


def serializer_names(content_types: bool = False) -> tuple[str, ...]:
    """Serializers registered with kombu (plus ``auth``, which security registers later)."""
    from kombu.serialization import registry
    names = set(registry.name_to_type) | {'auth'}
    if content_types:
        names |= set(registry.type_to_name) | {'application/data'}
    return tuple(sorted(names))


def compression_names() -> tuple[str, ...]:
    """Compression methods kombu can apply (names and content types)."""
    from celery.transport.serialization import compression_names as names
    return tuple(names())


def timezone_name(value: object) -> None:
    """Raise ValueError unless ``value`` is a tzinfo or a known IANA time zone name."""
    if not isinstance(value, str):
        return
    from zoneinfo import ZoneInfo
    try:
        ZoneInfo(value)
    except (ValueError, LookupError):
        raise ValueError('unknown time zone (use an IANA name such as '
                         "'UTC' or 'Europe/Oslo')") from None


def _to_sequence(value: Any, factory: Callable[[Any], Any]) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith('['):
            import json
            return factory(json.loads(text))
        return factory(part.strip() for part in text.split(',') if part.strip())
    return factory(value)


def _to_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        import json
        value = json.loads(value)
        if not isinstance(value, dict):
            # ValueError: the text is malformed, like any other unparsable value.
            raise ValueError(f'expected a JSON object, got {type(value).__name__}')  # noqa: TRY004
    return dict(value)


def _to_int(value: Any) -> Any:
    if isinstance(value, str) and '.' in value:
        return float(value)
    return int(value)


def _to_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


class Option:
    """Describes one setting: its default, type, old name and accepted values.

    Keyword arguments become attributes, so a plugin may attach its own
    (``Option(5, type='int', unit='seconds')``); the class attributes below
    are the values an option has when not given.
    """

    typemap: ClassVar[dict[str, Callable[[Any], Any]]] = {
        'string': str, 'str': str, 'int': _to_int, 'float': float,
        'bool': parse_bool, 'dict': _to_dict, 'bytes': _to_bytes,
        'tuple': lambda v: _to_sequence(v, tuple),
        'list': lambda v: _to_sequence(v, list),
        'any': lambda v: v,
    }

    type: str = 'string'
    #: Old (pre-4.0) names; each may be a template filled with the key.
    old: set[str] = set()  # noqa: RUF012 -- read-only default, instances get their own
    #: The setting(s) to use instead, named in the deprecation warning.
    alt: str | None = None
    deprecate_by: str | None = None
    remove_by: str | None = None
    choices: Callable[[], Iterable[object]] | tuple[object, ...] | None = None
    accepts: tuple[builtins.type, ...] = ()  # (``type`` here is the attribute)
    minimum: float | None = None
    check: Callable[[object], None] | None = None
    allow_path: bool = False
    hint: str = ''

    def __init__(self, default: object = None, *args: object, **kwargs: Any) -> None:
        # Extra positional arguments have no meaning; they are accepted so
        # that option tables written for Celery keep loading.
        self.default = default
        for name, value in kwargs.items():
            setattr(self, name, value)
        self.type = kwargs.get('type') or 'string'
        self.old = set(self.old)

    def to_python(self, value: object) -> object:
        """Convert ``value`` (usually text from the command line or env) to this type."""
        converted: object = self.typemap[self.type](value)
        return converted

    def accepted_values(self) -> tuple[object, ...]:
        """The values this setting accepts, or () when it takes any value of its type."""
        choices = self.choices
        return tuple(choices() if callable(choices) else choices or ())

    def __repr__(self) -> str:
        return f'<Option: type->{self.type} default->{self.default!r}>'


def Namespace(__old__: set[str] | None = None,
              **options: Option | dict[str, Any]) -> dict[str, Any]:
    """Group options; ``__old__`` templates (``'celeryd_{0}'``) name their old keys."""
    for key, opt in options.items():
        # An option that lists its own old names keeps them.
        if __old__ and isinstance(opt, Option) and not opt.old:
            opt.old = {template.format(key) for template in __old__}
    return options


def old_ns(ns: str) -> set[str]:
    """The old-name template of namespace ``ns``: ``'celeryd'`` -> ``{'celeryd_{0}'}``."""
    return {f'{ns}_{{0}}'}


#: Old-name templates of the ``task_``/top-level, ``beat_`` and ``worker_`` namespaces.
OLD_NS: set[str] = old_ns('celery')
OLD_NS_BEAT: set[str] = old_ns('celerybeat')
OLD_NS_WORKER: set[str] = old_ns('celeryd')

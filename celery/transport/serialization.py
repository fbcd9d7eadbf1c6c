"""What the project reads from kombu's serializer and compression registries, past their API.

Extends :class:`kombu.serialization.SerializerRegistry` (the process-wide
``kombu.serialization.registry``), whose public API encodes and decodes
whole messages but does not hand out one serializer's codec, tell whether a
content type is disabled, nor set the default serializer: the result
backends encode with one serializer's codec many times, the pool child's
body decoder skips kombu's per-call set-up while kombu's own JSON decoder is
the registered one, and ``setup_security`` makes ``auth`` the default as
Celery does.  The registry's tables (``_encoders``, ``_decoders``,
``_disabled_content_types``) are read here and nowhere else; where kombu
lacks them (an untested release, see :mod:`celery.transport.versions`)
each function falls back to the public API.

Also extends :mod:`kombu.compression`'s registry, whose public
``encoders()`` lists content types but not the short names (``zlib``,
``bzip2``) it accepts for them: :func:`compression_names` reads its alias
table (``_aliases``) for the setting's list of choices.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from kombu.exceptions import SerializerNotInstalled
from kombu.serialization import registry

__all__ = ('Codec', 'codec_for', 'compression_names', 'decoder_for', 'encoder_names',
           'is_disabled', 'set_default_serializer')


class Codec(NamedTuple):
    """One serializer's content type, content encoding and encoder."""

    content_type: str
    content_encoding: str
    encoder: Callable[[Any], Any]


# The registry's tables are mutated in place, never replaced: read once.
_ENCODERS: Any = getattr(registry, '_encoders', None)
_DECODERS: Any = getattr(registry, '_decoders', None)
_DISABLED: Any = getattr(registry, '_disabled_content_types', None)


def codec_for(name: str) -> Codec:
    """The codec registered as ``name``; KeyError if kombu has no encoder by that name."""
    if isinstance(_ENCODERS, dict):
        return Codec(*_ENCODERS[name])
    if name not in registry.name_to_type:
        raise KeyError(name)
    # Public fallback: one encode tells the content type and encoding.
    content_type, content_encoding, _ = registry.dumps(None, serializer=name)

    def encode(data: Any) -> Any:
        return registry.dumps(data, serializer=name)[2]
    return Codec(content_type, content_encoding, encode)


def encoder_names() -> list[str]:
    """The names of the serializers kombu can encode with, sorted."""
    return sorted(_ENCODERS if isinstance(_ENCODERS, dict) else registry.name_to_type)


def decoder_for(content_type: str) -> Callable[[Any], Any] | None:
    """The decoder registered for ``content_type`` (None if none or not readable)."""
    return _DECODERS.get(content_type) if isinstance(_DECODERS, dict) else None


def is_disabled(content_type: str) -> bool:
    """Whether kombu refuses to decode ``content_type`` without an explicit accept list.

    True where kombu's table cannot be read: callers then go through
    kombu's own ``loads``, which knows.
    """
    return content_type in _DISABLED if isinstance(_DISABLED, set) else True


def set_default_serializer(name: str) -> None:
    """Make ``name`` the serializer kombu uses where a publisher names none."""
    setter = getattr(registry, '_set_default_serializer', None)
    if setter is None:
        raise SerializerNotInstalled(
            f'This kombu cannot change its default serializer to {name!r}')
    setter(name)


def compression_names() -> list[str]:
    """The compression methods kombu can apply, by name and content type, sorted."""
    from kombu import compression
    aliases = getattr(compression, '_aliases', None)
    return sorted(set(aliases if isinstance(aliases, dict) else ()) | set(compression.encoders()))

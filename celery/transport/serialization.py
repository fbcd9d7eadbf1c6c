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

Also :func:`json_dumps`: ``kombu.utils.json.dumps`` builds a
``JSONEncoder`` and the C encoder behind it for every call, which costs
about as much as encoding a task message's envelope itself; this builds
them once and gives the same text (kombu's encoder raises kombu's errors).

Also extends :mod:`kombu.compression`'s registry, whose public
``encoders()`` lists content types but not the short names (``zlib``,
``bzip2``) it accepts for them: :func:`compression_names` reads its alias
table (``_aliases``) for the setting's list of choices.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as json_encoder
from typing import Any, NamedTuple

from kombu.exceptions import SerializerNotInstalled
from kombu.serialization import registry
from kombu.utils import json as kombu_json

__all__ = ('Codec', 'codec_for', 'compression_names', 'decoder_for', 'encoder_names',
           'is_disabled', 'json_dumps', 'kombu_json_codec', 'set_default_serializer')


class Codec(NamedTuple):
    """One serializer's content type, content encoding and encoder."""

    content_type: str
    content_encoding: str
    encoder: Callable[[Any], Any]


# The registry's tables are mutated in place, never replaced: read once.
_ENCODERS: Any = getattr(registry, '_encoders', None)
_DECODERS: Any = getattr(registry, '_decoders', None)
_DISABLED: Any = getattr(registry, '_disabled_content_types', None)


#: kombu's JSON encoder (``kombu.utils.json.dumps`` makes one per call).
_kombu_encoder = kombu_json.JSONEncoder()


def _one_shot_encoder() -> Callable[[Any, int], Any] | None:
    """The C encoder ``_kombu_encoder.encode`` builds per call, built once (None if none)."""
    enc = _kombu_encoder
    make = getattr(json_encoder, 'c_make_encoder', None)
    if make is None or (type(enc).encode is not json.JSONEncoder.encode
                        or type(enc).iterencode is not json.JSONEncoder.iterencode):
        return None   # no C accelerator, or a kombu whose encoder encodes its own way
    if not (enc.ensure_ascii and enc.indent is None and enc.allow_nan):
        return None
    try:
        # No circular-reference markers: made once, their dict would be
        # shared by every call and thread (and left dirty by an error).  A
        # circular message still fails (RecursionError), and json_dumps then
        # lets kombu's encoder raise its own error.
        encoder: Callable[[Any, int], Any] = make(
            None, enc.default, json_encoder.encode_basestring_ascii, None,
            enc.key_separator, enc.item_separator, enc.sort_keys, enc.skipkeys, enc.allow_nan)
        sample = {'body': 'eyJhIjogMX0=', 'headers': {'n': [1, 2.5, None, True], 'é': '\u2028'},
                  'properties': {'priority': 0, 'delivery_info': {}}}
        if ''.join(encoder(sample, 0)) != enc.encode(sample):
            return None
    except Exception:  # noqa: BLE001 - another Python's C encoder: kombu's way
        return None
    return encoder


_encode_fast = _one_shot_encoder()


def json_dumps(obj: Any) -> str:
    """``kombu.utils.json.dumps(obj)``: the same text, without kombu's set-up per call."""
    if _encode_fast is not None:
        try:
            return ''.join(_encode_fast(obj, 0))
        except Exception:  # noqa: BLE001 - kombu's encoder raises its own error
            pass   # (or encodes: a message nested deeper than the C recursion limit)
    text: str = _kombu_encoder.encode(obj)
    return text


def kombu_json_codec() -> Codec | None:
    """The ``json`` serializer's codec while it is kombu's own (as :func:`json_dumps`)."""
    entry = _ENCODERS.get('json') if isinstance(_ENCODERS, dict) else None
    if entry is None or entry[2] is not kombu_json.dumps:
        return None
    return Codec(*entry)


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

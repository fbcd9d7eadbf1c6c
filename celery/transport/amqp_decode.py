"""A faster decoder for the properties of AMQP messages (where task headers live).

A protocol 2 task message carries some twenty headers in its properties.
py-amqp decodes each header with a function call, a ``chr()``, a chain of
string comparisons and an ``isinstance`` per string: the largest single cost
of receiving a task.  :func:`decode_properties_basic` gives the same result
(the same types, the same bytes for undecodable text in headers) with the
common header types decoded inline; the rare ones go to py-amqp's own item
reader.  One difference: a short-string property (``content_type``...) that
is not UTF-8 is given as bytes, where py-amqp raises and the connection
fails on every redelivery; the consumer then rejects the message (its
content type is not an accepted one).
:class:`celery.transport.amqp_frames.DecodingMessage` (a subclass of
py-amqp's message) calls it for the messages the owned consumer transport
receives; py-amqp's process-wide decoder table is only read, never changed.
Extends no upstream class; the rare value types go to py-amqp's private
``serialization._read_item``, so this module is checked against py-amqp's
decoder for every type (``t/unit/worker/test_amqp_decode.py``).
"""
from __future__ import annotations

from struct import Struct
from typing import Any

from amqp import serialization

__all__ = ('decode_properties_basic', 'decode_table')

_UINT16_AT = Struct('>H').unpack_from
_UINT32_AT = Struct('>I').unpack_from
_INT32_AT = Struct('>i').unpack_from
_INT64_AT = Struct('>q').unpack_from
_UINT64_AT = Struct('>Q').unpack_from
_DOUBLE_AT = Struct('>d').unpack_from

# Table value types, as byte values.
_LONGSTR, _VOID, _BOOL, _TABLE, _ARRAY = b'SVtFA'
_INT32, _INT64, _INT64_RABBIT, _DOUBLE = b'ILld'

#: Short-string properties in flag order: (flag bit, property name).
_SHORTSTR_AFTER_HEADERS = (
    (0x0400, 'correlation_id'), (0x0200, 'reply_to'), (0x0100, 'expiration'),
    (0x0080, 'message_id'),
)
_SHORTSTR_AFTER_TIMESTAMP = (
    (0x0020, 'type'), (0x0010, 'user_id'), (0x0008, 'app_id'), (0x0004, 'cluster_id'),
)


def _text(raw: bytes) -> Any:
    try:
        return raw.decode('utf-8', 'surrogatepass')
    except UnicodeDecodeError:
        return raw   # what py-amqp gives for undecodable text


def decode_table(buf: bytes, offset: int) -> tuple[dict[Any, Any], int]:
    """Decode the field table at ``offset``; return it and the offset after it."""
    (size,) = _UINT32_AT(buf, offset)
    offset += 4
    end = offset + size
    table: dict[Any, Any] = {}
    # Keys and the usual value types inline: a call per header costs more
    # than decoding it.
    while offset < end:
        key_end = offset + 1 + buf[offset]
        key: str | bytes
        try:
            key = buf[offset + 1:key_end].decode('utf-8', 'surrogatepass')
        except UnicodeDecodeError:
            key = buf[offset + 1:key_end]
        kind = buf[key_end]
        if kind == _LONGSTR:
            (size,) = _UINT32_AT(buf, key_end + 1)
            offset = key_end + 5 + size
            try:
                table[key] = buf[key_end + 5:offset].decode('utf-8', 'surrogatepass')
            except UnicodeDecodeError:
                table[key] = buf[key_end + 5:offset]
        elif kind == _VOID:
            table[key] = None
            offset = key_end + 1
        else:
            table[key], offset = _decode_value(buf, key_end)
    return table, offset


def _decode_array(buf: bytes, offset: int) -> tuple[list[Any], int]:
    (size,) = _UINT32_AT(buf, offset)
    offset += 4
    end = offset + size
    items = []
    while offset < end:
        value, offset = _decode_value(buf, offset)
        items.append(value)
    return items, offset


def _decode_value(buf: bytes, offset: int) -> tuple[Any, int]:
    kind = buf[offset]
    start = offset + 1
    if kind == _LONGSTR:
        (size,) = _UINT32_AT(buf, start)
        end = start + 4 + size
        return _text(buf[start + 4:end]), end
    if kind == _VOID:
        return None, start
    if kind == _TABLE:
        return decode_table(buf, start)
    if kind == _ARRAY:
        return _decode_array(buf, start)
    if kind == _BOOL:
        return bool(buf[start]), start + 1
    if kind == _INT32:
        return _INT32_AT(buf, start)[0], start + 4
    if kind == _INT64 or kind == _INT64_RABBIT:
        return _INT64_AT(buf, start)[0], start + 8
    if kind == _DOUBLE:
        return _DOUBLE_AT(buf, start)[0], start + 8
    # Everything else (bytes, small and unsigned ints, floats, decimals,
    # timestamps) is rare in task headers: py-amqp decodes it.
    item: tuple[Any, int] = serialization._read_item(buf, offset)
    return item


def _shortstr(buf: bytes, offset: int) -> tuple[Any, int]:
    end = offset + 1 + buf[offset]
    return _text(buf[offset + 1:end]), end


def decode_properties_basic(buf: bytes, offset: int) -> tuple[dict[str, Any], int]:
    """Decode a content header's basic properties as py-amqp does, faster."""
    if not isinstance(buf, bytes):
        return _py_amqp_decoder(buf, offset)
    properties: dict[str, Any] = {}
    (flags,) = _UINT16_AT(buf, offset)
    offset += 2
    if flags & 0x8000:
        properties['content_type'], offset = _shortstr(buf, offset)
    if flags & 0x4000:
        properties['content_encoding'], offset = _shortstr(buf, offset)
    if flags & 0x2000:
        properties['application_headers'], offset = decode_table(buf, offset)
    if flags & 0x1000:
        properties['delivery_mode'] = buf[offset]
        offset += 1
    if flags & 0x0800:
        properties['priority'] = buf[offset]
        offset += 1
    for flag, name in _SHORTSTR_AFTER_HEADERS:
        if flags & flag:
            properties[name], offset = _shortstr(buf, offset)
    if flags & 0x0040:
        (properties['timestamp'],) = _UINT64_AT(buf, offset)
        offset += 8
    for flag, name in _SHORTSTR_AFTER_TIMESTAMP:
        if flags & flag:
            properties[name], offset = _shortstr(buf, offset)
    return properties, offset


_py_amqp_decoder = serialization.PROPERTY_CLASSES[serialization.Basic.CLASS_ID]


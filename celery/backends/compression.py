"""Compression of stored result meta (the ``result_compression`` setting).

The stored value is the compressed serialized meta with no marker of ours,
so a reader recognises a compressed value by the signature its codec
writes at the start (zlib, bzip2, xz and zstd have one; brotli has none).
"""
from __future__ import annotations

from collections.abc import Callable

from celery.exceptions import ImproperlyConfigured

__all__ = (
    'E_UNKNOWN_COMPRESSION',
    'W_COMPRESSION_UNSUPPORTED',
    'W_FAILURE_EXPIRES_UNSUPPORTED',
    'compress_payload',
    'compression_codec',
    'decompress_payload',
)

E_UNKNOWN_COMPRESSION = 'Unknown result_compression {0!r}: use one of {1!r}'

W_COMPRESSION_UNSUPPORTED = """\
The {0} result backend does not support result_compression: \
results are stored uncompressed.\
"""

W_FAILURE_EXPIRES_UNSUPPORTED = """\
The {0} result backend does not support result_failure_expires: \
failed results expire after result_expires like the others.\
"""

#: (leading bytes, kombu codec name) of the codecs that mark their output.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b'BZh', 'bzip2'),
    (b'\xfd7zXZ\x00', 'lzma'),
    (b'\x28\xb5\x2f\xfd', 'zstd'),
)


def compression_codec(name: str | None) -> tuple[Callable[[bytes], bytes] | None,
                                                 Callable[[bytes], bytes] | None]:
    """The kombu ``(compress, decompress)`` functions of codec ``name`` (or two ``None``)."""
    if not name:
        return None, None
    from kombu import compression
    try:
        return compression.get_encoder(name)[0], compression.get_decoder(name)
    except KeyError:
        from celery.app.defaults import compression_names
        raise ImproperlyConfigured(
            E_UNKNOWN_COMPRESSION.format(name, compression_names())) from None


def compress_payload(payload: str | bytes, compression: str | None) -> str | bytes:
    """Compress a serialized ``payload`` with kombu codec ``compression`` (``None``: as is)."""
    compress = compression_codec(compression)[0]
    if compress is None:
        return payload
    return compress(payload.encode('utf-8') if isinstance(payload, str) else payload)


def _codec_of(payload: bytes) -> str | None:
    if len(payload) >= 2 and payload[0] == 0x78 and int.from_bytes(payload[:2], 'big') % 31 == 0:
        return 'zlib'  # RFC 1950 header: deflate with a check value over both bytes
    for signature, name in _SIGNATURES:
        if payload.startswith(signature):
            return name
    return None


def decompress_payload(payload: str | bytes) -> str | bytes:
    """Undo :func:`compress_payload` when ``payload`` carries a codec signature, else return it."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        return payload
    payload = bytes(payload)
    name = _codec_of(payload)
    if name is None:
        return payload
    try:
        return compression_codec(name)[1](payload)  # type: ignore[misc]
    except Exception:  # noqa: BLE001 - an uncompressed value that merely looks like one
        return payload

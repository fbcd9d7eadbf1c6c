"""How a result backend turns results and meta into stored payloads and back.

The result serializer, ``result_compression`` and the conversion of
exceptions to a form the serializer can carry (and back) meet here.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kombu.serialization import dumps, loads

from celery.backends import exceptions as exc_codec
from celery.backends.compression import (
    W_COMPRESSION_UNSUPPORTED,
    compression_codec,
    decompress_payload,
)

if TYPE_CHECKING:
    from celery.backends._types import Payload

__all__ = ('ResultEncodingMixin',)


class ResultEncodingMixin:
    """Backend methods that encode and decode what the backend stores."""

    EXCEPTION_STATES: frozenset[str]
    supports_result_compression: bool
    serializer: str
    content_type: str
    content_encoding: str
    accept: set[str] | None
    _compress: Callable[[bytes], bytes] | None
    _decompress: Callable[[bytes], bytes] | None

    def prepare_compression(self, compression: str | None) -> str | None:
        """Check the codec name; ``None`` (with a warning) where this backend cannot compress."""
        if not compression:
            return None
        compression_codec(compression)  # raises ImproperlyConfigured for an unknown name
        if not self.supports_result_compression:
            warnings.warn(W_COMPRESSION_UNSUPPORTED.format(type(self).__name__),
                          RuntimeWarning, stacklevel=3)
            return None
        return compression

    def encode(self, data: object) -> Payload:
        """Serialize ``data`` with the result serializer."""
        return self._encode(data)[2]

    def _encode(self, data: object) -> tuple[str, str, Payload]:
        # (content_type, content_encoding, payload): backends built on this
        # one (django-celery-results) store all three.
        encoded: tuple[str, str, Payload] = dumps(data, serializer=self.serializer)
        return encoded

    def encode_meta(self, meta: object) -> Payload:
        """Serialize task or group meta for storage (compressed per ``result_compression``)."""
        # Through encode(): subclasses that override it (django-celery-results'
        # cache backend stores objects as they are) must be obeyed.
        payload = self.encode(meta)
        if self._compress is None:
            return payload
        return self._compress(payload.encode('utf-8') if isinstance(payload, str) else payload)

    def decode(self, payload: Payload | None) -> Any:
        """Deserialize a stored payload (only accepted content types)."""
        if payload is None:
            return None
        if self._decompress is not None:
            payload = self._maybe_decompress(payload)
        else:
            # Written by a client with result_compression on: still readable here.
            payload = decompress_payload(payload)
        return loads(payload, self.content_type, self.content_encoding, accept=self.accept)

    def _maybe_decompress(self, payload: Payload) -> Payload:
        # Results stored before compression was turned on are read as they are.
        decompress = self._decompress
        if decompress is None or isinstance(payload, str):
            return payload  # no codec can read text: it was stored uncompressed
        try:
            return decompress(payload)
        except Exception:  # noqa: BLE001 - each codec raises its own error class
            return payload

    def decode_result(self, payload: Payload) -> dict[str, Any]:
        """Deserialize stored meta and revive its exception."""
        return self.meta_from_decoded(self.decode(payload))

    def meta_from_decoded(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Turn stored exception data in ``meta`` into an exception instance."""
        if meta['status'] in self.EXCEPTION_STATES:
            meta['result'] = self.exception_to_python(meta['result'])
        return meta

    def prepare_exception(self, exc: BaseException,
                          serializer: str | None = None) -> BaseException | dict[str, Any]:
        """Convert ``exc`` to a form the serializer can carry."""
        return exc_codec.prepare_exception(exc, serializer or self.serializer, self.encode)

    def exception_to_python(self, exc: BaseException | Mapping[str, Any] | None,
                            ) -> BaseException | None:
        """Convert stored exception data back to an exception."""
        return exc_codec.exception_to_python(exc, self.serializer)

    def prepare_value(self, result: object) -> object:
        """Prepare a value for storage: results become their tuple form."""
        from celery.result import AsyncResult, GroupResult
        if self.serializer != 'pickle' and isinstance(result, (AsyncResult, GroupResult)):
            return result.as_tuple()
        return result

    def encode_result(self, result: object, state: str) -> object:
        """Prepare the ``result`` of a task that ended in ``state`` for storage."""
        if state in self.EXCEPTION_STATES and isinstance(result, BaseException):
            return self.prepare_exception(result)
        return self.prepare_value(result)

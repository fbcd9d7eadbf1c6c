"""The ``auth`` serializer: messages signed with a private key, verified with certificates."""
from __future__ import annotations

from base64 import b64decode, b64encode
from typing import Any

from kombu.serialization import dumps, loads, registry

from celery.app.defaults import DEFAULT_SECURITY_DIGEST
from celery.exceptions import SecurityError
from celery.security.certificate import Certificate, CertStore, FSCertStore
from celery.security.key import PrivateKey
from celery.security.utils import ensure_bytes, get_digest_algorithm, reraise_errors

__all__ = ('AUTH_CONTENT_TYPE', 'SEPARATOR', 'SecureSerializer', 'register_auth')

#: Content type of signed messages on the wire.
AUTH_CONTENT_TYPE = 'application/data'
#: Separates the fields of a signed payload.
SEPARATOR = b'\x00\x01'
#: Celery's name for :data:`SEPARATOR`.
DEFAULT_SEPARATOR = SEPARATOR


class SecureSerializer:
    """Signs what ``serializer`` produces and verifies it on the way back.

    Wire layout (base64 of the whole): ``signer SEP signature SEP content_type
    SEP content_encoding SEP body``.  What is signed is the serialized body,
    so a receiver verifies before it decodes anything.
    """

    def __init__(self, key: PrivateKey | None = None, cert: Certificate | None = None,
                 cert_store: CertStore | None = None, digest: str = DEFAULT_SECURITY_DIGEST,
                 serializer: str = 'json') -> None:
        self._key = key
        self._cert = cert
        self._cert_store = cert_store
        self._digest = get_digest_algorithm(digest)
        self._serializer = serializer
        self._signer = cert.get_id().encode('utf-8') if cert is not None else None

    def serialize(self, data: object) -> bytes:
        """Serialize ``data`` with the inner serializer and sign the result."""
        if self._key is None or self._signer is None:
            raise SecurityError(
                'Cannot sign messages: the auth serializer has no private key and certificate '
                '(set security_key and security_certificate, then call app.setup_security()).')
        with reraise_errors('Unable to serialize: {0!r}'):
            content_type, content_encoding, body = dumps(data, serializer=self._serializer)
            body = ensure_bytes(body)
            signature = self._key.sign(body, self._digest)
            return self._pack(body, content_type, content_encoding, self._signer, signature)

    def deserialize(self, data: str | bytes) -> object:
        """Verify the signature of ``data`` and return the decoded content."""
        if self._cert_store is None:
            raise SecurityError(
                'Cannot verify messages: the auth serializer has no certificate store '
                '(set security_cert_store, then call app.setup_security()).')
        with reraise_errors('Unable to deserialize: {0!r}'):
            fields = self._unpack(data)
            cert = self._cert_store[fields['signer']]
            cert.verify(fields['body'], fields['signature'], self._digest)
        body = fields['body']
        if fields['content_encoding'] != 'binary':
            body = body.decode(fields['content_encoding'] or 'utf-8')
        return loads(body, fields['content_type'], fields['content_encoding'], force=True)

    @staticmethod
    def _pack(body: bytes, content_type: str, content_encoding: str, signer: bytes,
              signature: bytes) -> bytes:
        return b64encode(SEPARATOR.join((
            signer, signature, ensure_bytes(content_type), ensure_bytes(content_encoding), body,
        )))

    def _unpack(self, payload: Any) -> dict[str, Any]:
        raw = b64decode(ensure_bytes(payload), validate=True)
        signer_end = raw.find(SEPARATOR)
        if signer_end <= 0:
            raise SecurityError('Message is not signed: no signer field in the payload.')
        signer = raw[:signer_end]
        # The signature is binary and may contain the separator, so it's
        # taken by the length the signer's key produces.
        start = signer_end + len(SEPARATOR)
        end = start + self._cert_store[signer].signature_length
        rest = raw[end:]
        if not rest.startswith(SEPARATOR):
            raise SecurityError('Malformed signed payload: the signature has the wrong length.')
        parts = rest[len(SEPARATOR):].split(SEPARATOR, 2)
        if len(parts) != 3:
            raise SecurityError('Malformed signed payload: expected content type, '
                                'content encoding and body after the signature.')
        content_type, content_encoding, body = parts
        return {
            'signer': signer,
            'signature': raw[start:end],
            'content_type': content_type.decode('utf-8'),
            'content_encoding': content_encoding.decode('utf-8'),
            'body': body,
        }


def register_auth(key: str | bytes | None = None, key_password: str | bytes | None = None,
                  cert: str | bytes | None = None, store: str | CertStore | None = None,
                  digest: str = DEFAULT_SECURITY_DIGEST, serializer: str = 'json') -> SecureSerializer:
    """Register the ``auth`` serializer with kombu (PEM texts for ``key``/``cert``)."""
    if isinstance(store, str):
        store = FSCertStore(store)
    secure = SecureSerializer(
        PrivateKey(key, password=key_password) if key else None,
        Certificate(cert) if cert else None,
        store,
        digest,
        serializer=serializer,
    )
    registry.register('auth', secure.serialize, secure.deserialize,
                      content_type=AUTH_CONTENT_TYPE, content_encoding='utf-8')
    registry.enable('auth')
    return secure

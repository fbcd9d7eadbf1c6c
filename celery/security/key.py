"""Private keys used to sign messages."""
from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from celery.security.utils import ensure_bytes, reraise_errors

__all__ = ('PrivateKey',)


def pss_padding(digest: hashes.HashAlgorithm) -> padding.PSS:
    """Return the RSA-PSS padding Celery signs and verifies with."""
    return padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.MAX_LENGTH)


class PrivateKey:
    """An RSA private key loaded from PEM text."""

    def __init__(self, key: str | bytes, password: str | bytes | None = None) -> None:
        with reraise_errors('Invalid private key: {0!r}', errors=(ValueError, TypeError)):
            self._key = serialization.load_pem_private_key(
                ensure_bytes(key),
                password=ensure_bytes(password) if password is not None else None)
        if not isinstance(self._key, rsa.RSAPrivateKey):
            from celery.exceptions import SecurityError
            raise SecurityError(
                f'Unsupported private key type {type(self._key).__name__}: '
                'the auth serializer signs with RSA keys only.')
        self._paddings: dict[str, padding.PSS] = {}

    def sign(self, data: str | bytes, digest: hashes.HashAlgorithm) -> bytes:
        """Return the RSA-PSS signature of ``data`` made with ``digest``."""
        pad = self._paddings.get(digest.name)
        if pad is None:
            pad = self._paddings[digest.name] = pss_padding(digest)
        with reraise_errors('Unable to sign data: {0!r}'):
            return self._key.sign(ensure_bytes(data), pad, digest)

"""X.509 certificates and the stores that map signer ids to them."""
from __future__ import annotations

import glob
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from celery.exceptions import SecurityError
from celery.security.key import pss_padding
from celery.security.utils import ensure_bytes, reraise_errors

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ('CertStore', 'Certificate', 'FSCertStore')


class Certificate:
    """An X.509 certificate holding the RSA public key of a signer."""

    def __init__(self, cert: str | bytes) -> None:
        with reraise_errors('Invalid certificate: {0!r}', errors=(ValueError, TypeError)):
            self._cert = x509.load_pem_x509_certificate(ensure_bytes(cert))
        self._pubkey = self._cert.public_key()
        if not isinstance(self._pubkey, rsa.RSAPublicKey):
            raise SecurityError(
                f'Unsupported certificate key type {type(self._pubkey).__name__} '
                f'in {self.get_id()!r}: the auth serializer verifies RSA signatures only.')
        self._paddings: dict[str, padding.PSS] = {}

    def has_expired(self) -> bool:
        """Whether the certificate's validity period has ended."""
        return datetime.now(timezone.utc) >= self._cert.not_valid_after_utc

    def get_pubkey(self) -> rsa.RSAPublicKey:
        """Return the public key."""
        return self._pubkey

    def get_serial_number(self) -> int:
        """Return the serial number given by the issuer."""
        return self._cert.serial_number

    def get_issuer(self) -> str:
        """Return the issuer's name attributes joined by spaces."""
        return ' '.join(str(attribute.value) for attribute in self._cert.issuer)

    def get_id(self) -> str:
        """Return the signer id carried by signed messages: issuer and serial number."""
        return f'{self.get_issuer()} {self.get_serial_number()}'

    @property
    def signature_length(self) -> int:
        """Length in bytes of the signatures this certificate's key verifies."""
        return self._pubkey.key_size // 8

    def verify(self, data: str | bytes, signature: bytes, digest: hashes.HashAlgorithm) -> None:
        """Raise :exc:`~celery.exceptions.SecurityError` unless ``signature`` signs ``data``."""
        pad = self._paddings.get(digest.name)
        if pad is None:
            pad = self._paddings[digest.name] = pss_padding(digest)
        try:
            self._pubkey.verify(signature, ensure_bytes(data), pad, digest)
        except InvalidSignature:
            raise SecurityError(
                f'Bad signature: the message claims to be signed by {self.get_id()!r} '
                'but its signature does not match its content.') from None


class CertStore:
    """Certificates indexed by signer id."""

    def __init__(self) -> None:
        self._certs: dict[str, Certificate] = {}

    def itercerts(self) -> Iterator[Certificate]:
        """Iterate over the certificates."""
        yield from self._certs.values()

    def __getitem__(self, id: str | bytes) -> Certificate:
        """Return the certificate of signer ``id``."""
        key = id.decode('utf-8', 'replace') if isinstance(id, bytes) else id
        try:
            return self._certs[key]
        except KeyError:
            raise SecurityError(
                f'Unknown certificate: {key!r}. Add the signer\'s certificate to the '
                'store named by security_cert_store to accept its messages.') from None

    def add_cert(self, cert: Certificate) -> None:
        """Add ``cert``; a second certificate with the same id is refused."""
        cert_id = cert.get_id()
        if cert_id in self._certs:
            raise SecurityError(f'Duplicate certificate: {cert_id!r}')
        self._certs[cert_id] = cert

    def __len__(self) -> int:
        return len(self._certs)


class FSCertStore(CertStore):
    """Certificates read from files: a directory, one file, or a glob pattern."""

    def __init__(self, path: str) -> None:
        super().__init__()
        pattern = os.path.join(path, '*') if os.path.isdir(path) else path
        for filename in sorted(glob.glob(pattern)):
            self.add_cert(self._load(filename))
        if not len(self):
            raise SecurityError(
                f'No certificates found at {path!r} (security_cert_store): give a directory, '
                'a file or a glob pattern matching PEM certificates.')

    @staticmethod
    def _load(filename: str) -> Certificate:
        with open(filename, 'rb') as fh:
            data: Any = fh.read()
        try:
            cert = Certificate(data)
        except SecurityError as exc:
            raise SecurityError(f'{exc} (in {filename})') from exc
        if cert.has_expired():
            raise SecurityError(f'Expired certificate: {cert.get_id()!r} ({filename})')
        return cert

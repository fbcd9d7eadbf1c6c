"""Make throwaway RSA keys and self-signed certificates for signing tests."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclass
class KeyPair:
    """PEM texts of a private key and its self-signed certificate."""

    key: bytes
    cert: bytes


def make_keypair(common_name: str, serial: int = 1, key_size: int = 2048,
                 days: int = 30, password: bytes | None = None,
                 elliptic: bool = False) -> KeyPair:
    """Return a new key and a certificate for it valid ``days`` (negative: expired)."""
    key = ec.generate_private_key(ec.SECP256R1()) if elliptic else \
        rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Celery Tests')])
    now = datetime.now(timezone.utc)
    start, end = (now - timedelta(days=1), now + timedelta(days=days)) if days > 0 else \
        (now - timedelta(days=10), now + timedelta(days=days))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(start).not_valid_after(end)
            .sign(key, hashes.SHA256()))
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8, encryption)
    return KeyPair(key_pem, cert.public_bytes(serialization.Encoding.PEM))


def write_keypair(directory: Path, name: str, pair: KeyPair) -> tuple[str, str]:
    """Write ``pair`` as ``name.key``/``name.pem`` under ``directory``; return both paths."""
    key_path, cert_path = directory / f'{name}.key', directory / f'{name}.pem'
    key_path.write_bytes(pair.key)
    cert_path.write_bytes(pair.cert)
    return str(key_path), str(cert_path)


@contextmanager
def preserved_serializer_registry() -> Iterator[None]:
    """Undo what security setup does to kombu's process-wide serializer registry."""
    from kombu.serialization import registry
    disabled = set(registry._disabled_content_types)
    default = (registry._default_content_type, registry._default_content_encoding,
               registry._default_encode)
    had_auth = 'auth' in registry.name_to_type
    try:
        yield
    finally:
        registry._disabled_content_types.clear()
        registry._disabled_content_types.update(disabled)
        (registry._default_content_type, registry._default_content_encoding,
         registry._default_encode) = default
        if not had_auth and 'auth' in registry.name_to_type:
            registry.unregister('auth')

"""Helpers shared by the security modules: error translation and digest lookup."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.hazmat.primitives import hashes

from celery.exceptions import SecurityError

__all__ = ('get_digest_algorithm', 'reraise_errors')


def get_digest_algorithm(digest: str = 'sha256') -> hashes.HashAlgorithm:
    """Return the cryptography hash algorithm named ``digest`` (e.g. ``'sha256'``)."""
    algorithm = getattr(hashes, str(digest).upper(), None)
    if not (isinstance(algorithm, type) and issubclass(algorithm, hashes.HashAlgorithm)):
        raise SecurityError(
            f'Unknown digest algorithm {digest!r} (security_digest): use a name such as '
            f"'sha256', 'sha384', 'sha512' or 'sha3_256'.")
    return algorithm()


@contextmanager
def reraise_errors(msg: str = '{0!r}', errors: tuple[type[BaseException], ...] | None = None
                   ) -> Iterator[None]:
    """Turn ``errors`` raised in the block into :exc:`~celery.exceptions.SecurityError`.

    ``msg`` is formatted with the original exception; the original is chained.
    """
    errors = (Exception,) if errors is None else errors
    try:
        yield
    except SecurityError:
        raise
    except errors as exc:
        raise SecurityError(msg.format(exc)) from exc


def ensure_bytes(value: str | bytes | bytearray | memoryview) -> bytes:
    """Return ``value`` as bytes (``str`` is encoded as UTF-8)."""
    if isinstance(value, str):
        return value.encode('utf-8')
    return bytes(value)

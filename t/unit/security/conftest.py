"""Keys, certificates and a kombu serializer registry restored after each test."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from t.unit.security.certs import KeyPair, make_keypair, preserved_serializer_registry


@pytest.fixture(scope='session')
def signer() -> KeyPair:
    return make_keypair('signer', serial=1001)


@pytest.fixture(scope='session')
def other_signer() -> KeyPair:
    return make_keypair('intruder', serial=2002)


@pytest.fixture(autouse=True)
def restore_serializer_registry() -> Iterator[None]:
    """Security setup changes kombu's process-wide registry: put it back."""
    with preserved_serializer_registry():
        yield

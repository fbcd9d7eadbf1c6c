"""Fixtures shared by the integration tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from kombu.asynchronous import Hub


@pytest.fixture
def hub() -> Iterator[Hub]:
    """A kombu hub the test turns itself."""
    loop = Hub()
    # run_once() blocks in poll(); keep the loop responsive to the test.
    loop.call_repeatedly(0.05, lambda: None)
    yield loop
    loop.close()

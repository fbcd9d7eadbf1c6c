"""Fixtures of the prefork pool tests: started pools, terminated after (hub: t/integration)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kombu.asynchronous import Hub

from celery.concurrency.prefork import TaskPool


@pytest.fixture
def make_pool(hub: Hub) -> Iterator[Callable[..., TaskPool]]:
    """Make started prefork pools (on the hub unless register=False); terminated after."""
    pools: list[TaskPool] = []

    def make(limit: int = 2, register: bool = True, **options: Any) -> TaskPool:
        pool = TaskPool(limit, **options)
        pool.start()
        if register:
            pool.register_with_event_loop(hub)
        pools.append(pool)
        return pool
    yield make
    for pool in pools:
        if pool._pool is not None:
            pool.terminate()

"""Helpers of the workflow tests: task lookup and waiting on Redis lists."""
from __future__ import annotations

import time
from typing import Any

TIMEOUT = 30


def task(app: Any, name: str) -> Any:
    """The ``canvas.<name>`` task of ``app``."""
    return app.tasks[f'canvas.{name}']


def wait_list(app: Any, key: str, count: int, timeout: float = TIMEOUT) -> list[str]:
    """Wait until Redis list ``key`` holds ``count`` items; return them (and drop the key)."""
    client = app.backend.client
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = [i.decode() for i in client.lrange(key, 0, -1)]
        if len(items) >= count:
            client.delete(key)
            return items
        time.sleep(0.05)
    raise AssertionError(f'{key}: expected {count} items, got {client.lrange(key, 0, -1)}')


def list_now(app: Any, key: str) -> list[str]:
    """What Redis list ``key`` holds right now."""
    return [i.decode() for i in app.backend.client.lrange(key, 0, -1)]


def settled(app: Any, *results: Any, timeout: float = TIMEOUT) -> None:
    """Wait until every result (and its parents) is ready, successful or not."""
    deadline = time.monotonic() + timeout
    pending = list(results)
    while pending and time.monotonic() < deadline:
        pending = [r for r in pending if not r.ready()]
        if pending:
            time.sleep(0.05)
    assert not pending, f'still pending: {pending}'

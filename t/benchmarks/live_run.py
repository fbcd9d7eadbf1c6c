"""A benchmark counts as a live test run, so the suite's clean-up leaves its queues and keys alone.

The last test run to end flushes the suite's Redis databases and deletes the
RabbitMQ queues without consumers that appeared during it (``t/cleanup.py``),
unless another run is live.  A benchmark on the same servers (a round trip
whose message or result vanishes waits out its timeout) registers the same
way for as long as it runs; a test run that ends meanwhile then leaves its
keys for the next one to clear.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from t.cleanup import LIVE_RUNS_KEY, LIVE_RUNS_TTL
from t.servers import REDIS_URL


@contextmanager
def live_run() -> Iterator[None]:
    """Count as a live run of the suite while the block runs."""
    client = redis.Redis.from_url(REDIS_URL)
    client.incr(LIVE_RUNS_KEY)
    client.expire(LIVE_RUNS_KEY, LIVE_RUNS_TTL)
    try:
        yield
    finally:
        client.decr(LIVE_RUNS_KEY)
        client.close()

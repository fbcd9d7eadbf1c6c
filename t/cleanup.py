"""Leave the servers as the run found them: queues and keys the suite created go.

The run's controller (the plain pytest process, or xdist's master) notes the
RabbitMQ queues that exist when it starts; at its end it deletes the queues
created since that nobody consumes from, and flushes the suite's own Redis
databases.  Several runs may share the servers (developers running a few
files each): a counter in Redis tracks the live runs, and only the last one
to finish cleans up, so no run pulls keys or queues from under another.
"""
from __future__ import annotations

import shutil
import subprocess

from t.servers import AMQP_URL, REDIS_DATABASES, REDIS_URL, with_redis_database

#: Live test runs; refreshed by each run, gone after an hour if a run crashed.
LIVE_RUNS_KEY = 'celery-tests:live-runs'
LIVE_RUNS_TTL = 3600


def _redis(url: str = REDIS_URL):  # -> redis.Redis; imported here: a test extra, not a dependency
    import redis
    return redis.Redis.from_url(url, socket_timeout=5)


def rabbitmq_queues() -> dict[str, int] | None:
    """Queue name -> consumer count on the local RabbitMQ, or None if it cannot be listed."""
    ctl = shutil.which('rabbitmqctl')
    if ctl is None:
        return None
    try:
        out = subprocess.run([ctl, 'list_queues', '-q', '--no-table-headers', 'name', 'consumers'],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    queues = {}
    for line in out.splitlines():
        name, _, consumers = line.rpartition('\t')
        if name and consumers.isdigit():
            queues[name] = int(consumers)
    return queues


def begin_run() -> set[str] | None:
    """Register a live run; return the queues that exist now (None if unknown)."""
    try:
        client = _redis()
        client.incr(LIVE_RUNS_KEY)
        client.expire(LIVE_RUNS_KEY, LIVE_RUNS_TTL)
    except Exception:  # noqa: BLE001 - a server that is down fails the tests, not the hook
        return None
    queues = rabbitmq_queues()
    return None if queues is None else set(queues)


def end_run(queues_before: set[str] | None) -> None:
    """Unregister the run; the last live run deletes what the suite left behind."""
    try:
        client = _redis()
        if client.decr(LIVE_RUNS_KEY) > 0:
            return
        client.delete(LIVE_RUNS_KEY)
        for db in REDIS_DATABASES:
            _redis(with_redis_database(REDIS_URL, db)).flushdb()
    except Exception:  # noqa: BLE001
        return
    if queues_before is not None:
        _delete_new_queues(queues_before)


def _delete_new_queues(queues_before: set[str]) -> None:
    from kombu import Connection
    leftovers = [name for name, consumers in (rabbitmq_queues() or {}).items()
                 if name not in queues_before and consumers == 0]
    if not leftovers:
        return
    with Connection(AMQP_URL, connect_timeout=5) as conn:
        channel = conn.default_channel
        for name in leftovers:
            channel.queue_delete(name)

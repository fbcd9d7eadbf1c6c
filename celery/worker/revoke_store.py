"""Durable revokes: revoked ids kept in Redis so workers started later still skip them.

Off unless :setting:`worker_revokes_backend` is set.  The store is one Redis
sorted set: member = task id, score = the wall-clock time the revoke expires
(revoke time + ``REVOKE_EXPIRES``, Celery's in-memory revoke lifetime).
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, cast

from celery import bootsteps
from celery.exceptions import ImproperlyConfigured
from celery.utils.collections import LimitedSet
from celery.utils.log import get_logger
from celery.worker import state as worker_state

__all__ = ('REVOKES_KEY', 'RevokeStore', 'DurableRevokes', 'store_url', 'store_for', 'record',
           'load_into_worker', 'sources')

logger = get_logger(__name__)

#: The Redis sorted set holding the durable revokes.
REVOKES_KEY = 'celery-revoked'
#: Setting value meaning "the app's result backend" (which must then be Redis).
USE_RESULT_BACKEND = 'result_backend'
REDIS_SCHEMES = ('redis://', 'rediss://', 'unix://')
#: Seconds a store operation may take before it is given up (a revoke still broadcasts).
STORE_TIMEOUT = 5.0

#: Ids this worker loaded from the store at start (``inspect revoked_sources``).
loaded = LimitedSet(maxlen=worker_state.REVOKES_MAX, expires=worker_state.REVOKE_EXPIRES)


def store_url(app: Any) -> str | None:
    """The Redis URL :setting:`worker_revokes_backend` names, or None when off."""
    value = app.conf.worker_revokes_backend
    if not value:
        return None
    url = app.conf.result_backend if value == USE_RESULT_BACKEND else value
    if not isinstance(url, str) or not url.startswith(REDIS_SCHEMES):
        raise ImproperlyConfigured(
            f'worker_revokes_backend must be a Redis URL or {USE_RESULT_BACKEND!r} '
            f'with a Redis result_backend; got {value!r} (result_backend={url!r})')
    return url


class RevokeStore:
    """Revoked task ids with their expiry, in a Redis sorted set."""

    def __init__(self, url: str, expires: float = worker_state.REVOKE_EXPIRES,
                 maxlen: int = worker_state.REVOKES_MAX, key: str = REVOKES_KEY) -> None:
        import redis
        self.client = redis.Redis.from_url(url, socket_timeout=STORE_TIMEOUT,
                                           socket_connect_timeout=STORE_TIMEOUT)
        self.url, self.expires, self.maxlen, self.key = url, expires, maxlen, key

    def add(self, task_ids: Iterable[str], now: float | None = None) -> None:
        """Record ``task_ids`` as revoked until ``now + expires``; drop expired ones."""
        now = time.time() if now is None else now
        members = {str(task_id): now + self.expires for task_id in task_ids}
        if not members:
            return
        with self.client.pipeline() as pipe:
            pipe.zadd(self.key, members)
            pipe.zremrangebyscore(self.key, '-inf', now)
            # Keep the newest ``maxlen``, as the worker's in-memory set does.
            pipe.zremrangebyrank(self.key, 0, -(self.maxlen + 1))
            pipe.execute()

    def load(self, now: float | None = None) -> dict[str, float]:
        """``{task_id: expires_at}`` of every revoke not yet expired."""
        now = time.time() if now is None else now
        pairs = self.client.zrangebyscore(self.key, now, '+inf', withscores=True)
        return {_text(task_id): float(expires_at)
                for task_id, expires_at in cast('list[tuple[bytes, float]]', pairs)}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def store_for(app: Any) -> RevokeStore | None:
    """The app's :class:`RevokeStore` (made once), or None when the setting is off."""
    url = store_url(app)
    if url is None:
        return None
    store = getattr(app, '_revoke_store', None)
    if store is None or store.url != url:
        store = app._revoke_store = RevokeStore(url)
    return store


def record(app: Any, task_ids: Any) -> None:
    """Write revoked ``task_ids`` to the store when it is on; a store error only warns."""
    store = store_for(app)
    if store is None:
        return
    ids = [task_ids] if isinstance(task_ids, (str, bytes)) else list(task_ids or ())
    try:
        store.add(_text(task_id) for task_id in ids)
    except Exception as exc:  # noqa: BLE001 - the broadcast must still go out
        logger.warning('Could not record revokes %r in worker_revokes_backend: %r', ids, exc)


def load_into_worker(app: Any) -> int:
    """Merge the store's live revokes into the worker's revoked set; how many."""
    store = store_for(app)
    if store is None:
        return 0
    try:
        revokes = store.load()
    except Exception as exc:  # noqa: BLE001 - a worker still starts without the store
        logger.warning('Could not load revokes from worker_revokes_backend: %r', exc)
        return 0
    # LimitedSet times are monotonic: translate each expiry into the insertion
    # time that makes the in-memory entry expire at the same moment.
    offset = time.monotonic() - time.time() - worker_state.REVOKE_EXPIRES
    for task_id, expires_at in revokes.items():
        worker_state.revoked.add(task_id, now=expires_at + offset)
        loaded.add(task_id, now=expires_at + offset)
    worker_state.revoked.purge()
    loaded.purge()
    logger.info('Loaded %d revoked ids from worker_revokes_backend', len(revokes))
    return len(revokes)


def sources(revoked: Iterable[str]) -> dict[str, str]:
    """``{task_id: source}``: ``'revokes_backend'`` if loaded from the store, else ``'live'``."""
    return {task_id: 'revokes_backend' if task_id in loaded else 'live'
            for task_id in revoked}


class DurableRevokes(bootsteps.Step):
    """Worker step: load the durable revokes before the consumer starts."""

    def __init__(self, w: Any, **kwargs: Any) -> None:
        self.enabled = bool(w.app.conf.worker_revokes_backend)
        super().__init__(w, **kwargs)

    def create(self, w: Any) -> None:
        load_into_worker(w.app)

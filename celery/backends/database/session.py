"""Engines per database URL, reused for the life of the process (reset after fork)."""
from __future__ import annotations

import os
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import NullPool, StaticPool

from celery.exceptions import ImproperlyConfigured

__all__ = ('SessionManager',)

PREPARE_MODELS_MAX_RETRIES = 10


class SessionManager:
    """Creates engines once per URL and the tables once per engine."""

    def __init__(self) -> None:
        self._engines: dict[tuple[str, bool], sa.Engine] = {}
        self._prepared: set[tuple[int, int]] = set()
        self._lock = threading.Lock()
        if hasattr(os, 'register_at_fork'):
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        # Pooled connections must not be shared with the parent process.
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines.clear()

    def get_engine(self, dburi: str, short_lived_sessions: bool = False,
                   **kwargs: Any) -> sa.Engine:
        """Return the engine for ``dburi`` (connections are not pooled when short lived)."""
        key = (dburi, short_lived_sessions)
        engine = self._engines.get(key)
        if engine is None:
            with self._lock:
                engine = self._engines.get(key)
                if engine is None:
                    engine = self._engines[key] = self._create_engine(
                        dburi, short_lived_sessions, **kwargs)
        return engine

    @classmethod
    def _create_engine(cls, dburi: str, short_lived: bool, **kwargs: Any) -> sa.Engine:
        url = sa.engine.make_url(dburi)
        try:
            return cls._engine_for(url, short_lived, **kwargs)
        except ModuleNotFoundError as exc:
            if url.drivername == 'postgresql':
                # SQLAlchemy 2.1 defaults to psycopg 3; psycopg2 is what the extra installs.
                try:
                    return cls._engine_for(url.set(drivername='postgresql+psycopg2'),
                                           short_lived, **kwargs)
                except ModuleNotFoundError:
                    pass
            raise ImproperlyConfigured(
                f'The database driver for {url.drivername!r} is not installed ({exc.name}): '
                "for PostgreSQL use pip install 'celery[postgresql]'") from exc

    @staticmethod
    def _engine_for(url: Any, short_lived: bool, **kwargs: Any) -> sa.Engine:
        if url.get_backend_name() == 'sqlite' and url.database in (None, '', ':memory:'):
            # One shared connection, or every session would see a new empty database.
            options = {k: v for k, v in kwargs.items() if not k.startswith('pool')}
            return sa.create_engine(url, poolclass=StaticPool,
                                    connect_args={'check_same_thread': False}, **options)
        if short_lived:
            options = {k: v for k, v in kwargs.items() if not k.startswith('pool')}
            return sa.create_engine(url, poolclass=NullPool, **options)
        return sa.create_engine(url, **kwargs)

    def prepare_models(self, engine: sa.Engine, metadata: sa.MetaData) -> None:
        """Create the tables if missing (retrying the race between concurrent creators)."""
        key = (id(engine), id(metadata))
        if key in self._prepared:
            return
        retries = 0
        while True:
            try:
                metadata.create_all(engine)
                break
            except DatabaseError:
                if retries >= PREPARE_MODELS_MAX_RETRIES:
                    raise
                retries += 1
                time.sleep(min(1.0, 0.01 * 2 ** retries))
        self._prepared.add(key)

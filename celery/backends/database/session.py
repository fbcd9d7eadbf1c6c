"""Engines per database URL, reused for the life of the process (reset after fork)."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

from celery.exceptions import ImproperlyConfigured

__all__ = ('SessionManager', 'session_cleanup')

PREPARE_MODELS_MAX_RETRIES = 10


@contextmanager
def session_cleanup(session: Session) -> Iterator[None]:
    """Close ``session`` after the block, rolling back first if the block raised."""
    try:
        yield
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


class SessionManager:
    """Creates engines once per URL and the tables once per engine."""

    def __init__(self, engine_callback: Callable[[sa.Engine], Any] | None = None) -> None:
        #: Called with each engine this manager creates (``database_engine_callback``).
        self.engine_callback = engine_callback
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

    def get_engine(self, dburi: str, **kwargs: Any) -> sa.Engine:
        """Return the engine for ``dburi`` (``short_lived_sessions=True``: not pooled)."""
        short_lived_sessions = bool(kwargs.pop('short_lived_sessions', False))
        key = (dburi, short_lived_sessions)
        engine = self._engines.get(key)
        if engine is None:
            with self._lock:
                engine = self._engines.get(key)
                if engine is None:
                    engine = self._engines[key] = self._create_engine(
                        dburi, short_lived_sessions, **kwargs)
                    if self.engine_callback is not None:
                        self.engine_callback(engine)
        return engine

    def invalidate(self, dburi: str) -> None:
        """Drop the engines of ``dburi`` (and their pooled connections): the next use reconnects."""
        with self._lock:
            for key in [k for k in self._engines if k[0] == dburi]:
                self._engines.pop(key).dispose()

    def session_factory(self, dburi: str, **kwargs: Any) -> sessionmaker[Session]:
        """A :class:`~sqlalchemy.orm.sessionmaker` over the engine of ``dburi``."""
        engine, factory = self.create_session(dburi, **kwargs)
        self.prepare_models(engine)
        return factory

    def create_session(self, dburi: str, short_lived_sessions: bool = False,
                       **kwargs: Any) -> tuple[sa.Engine, sessionmaker[Session]]:
        """The engine of ``dburi`` and a session factory bound to it."""
        engine = self.get_engine(dburi, short_lived_sessions=short_lived_sessions, **kwargs)
        return engine, sessionmaker(bind=engine)

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

    def prepare_models(self, engine: sa.Engine) -> None:
        """Create the tables of the ORM classes (``Task``, ``TaskSet``) if missing."""
        from celery.backends.database.models import ResultModelBase
        self.prepare_tables(engine, ResultModelBase.metadata)

    def prepare_tables(self, engine: sa.Engine, metadata: sa.MetaData) -> None:
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

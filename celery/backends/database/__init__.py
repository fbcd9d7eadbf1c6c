"""SQLAlchemy result backend (``db+postgresql://...``, ``db+sqlite:///...``)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

try:
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError
except ImportError as exc:  # the client library is an optional extra
    from celery.exceptions import ImproperlyConfigured
    raise ImproperlyConfigured(
        "The database result backend needs SQLAlchemy: pip install 'celery[sqlalchemy]'"
    ) from exc

from celery import states
from celery.backends.base import BaseBackend
from celery.backends.database.models import (
    ResultTables,
    Task,
    TaskExtended,
    TaskSet,
    result_tables,
    utcnow,
)
from celery.backends.database.retry import (
    RETRYABLE_DB_ERRORS,
    is_connection_lost,
    is_unstorable,
    retry_on_lost_connection,
)
from celery.backends.database.session import SessionManager, session_cleanup
from celery.exceptions import BackendStoreError, ImproperlyConfigured
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from celery.backends._types import BackendReduce

__all__ = ('DatabaseBackend', 'RETRYABLE_DB_ERRORS', 'Task', 'TaskExtended', 'TaskSet',
           'session_cleanup')

logger = get_logger(__name__)

E_NO_URL = ('Missing connection string! Set the database_url setting or use a '
            "result_backend URL such as 'db+postgresql://user@host/dbname'.")

_sessions = SessionManager()


class DatabaseBackend(BaseBackend):
    """Results in the ``celery_taskmeta`` / ``celery_tasksetmeta`` tables."""

    subpolling_interval = 0.5
    #: ORM classes over the result tables (``TaskExtended`` with ``result_extended``).
    task_cls = Task
    taskset_cls = TaskSet

    def __init__(self, dburi: str | None = None, engine_options: dict[str, Any] | None = None,
                 url: str | None = None, **kwargs: Any) -> None:
        super().__init__(url=url, **kwargs)
        conf = self.app.conf
        url = url or dburi or conf.database_url
        if not url:
            raise ImproperlyConfigured(E_NO_URL)
        self.url: str = url.removeprefix('db+')
        extended_result = bool(conf.result_extended)
        self.engine_options = dict(conf.database_engine_options or {}, **(engine_options or {}))
        self.short_lived_sessions = bool(conf.database_short_lived_sessions)
        self.tables: ResultTables = result_tables(conf.database_table_names,
                                                  conf.database_table_schemas,
                                                  extended_result)
        if extended_result:
            self.task_cls = TaskExtended
        names = conf.database_table_names or {}
        schemas = conf.database_table_schemas or {}
        self.task_cls.configure(schema=schemas.get('task'), name=names.get('task'))
        self.taskset_cls.configure(schema=schemas.get('group'), name=names.get('group'))
        self._engine: sa.Engine | None = None
        if conf.database_create_tables_at_setup:
            self.engine  # noqa: B018 - create the tables now rather than on first use

    @property
    def engine(self) -> sa.Engine:
        """The engine for this URL, with the tables created."""
        if self._engine is None or self.short_lived_sessions:
            engine = _sessions.get_engine(self.url, short_lived_sessions=self.short_lived_sessions,
                                          **self.engine_options)
            callback = self.app.conf.database_engine_callback
            if callback is not None and engine is not self._engine:
                callback(engine)
            _sessions.prepare_tables(engine, self.tables.metadata)
            self._engine = engine
        return self._engine

    @property
    def extended_result(self) -> bool:
        """Whether the task table has the ``result_extended`` columns."""
        return self.tables.extended

    def ResultSession(self, session_manager: SessionManager | None = None,  # noqa: N802
                      ) -> Session:
        """A new ORM session on the result database (close it, e.g. with ``session_cleanup``)."""
        from sqlalchemy import orm
        if session_manager is None or session_manager is _sessions:
            return orm.Session(bind=self.engine)
        return session_manager.session_factory(
            self.url, short_lived_sessions=self.short_lived_sessions, **self.engine_options)()

    def exception_safe_to_retry(self, exc: BaseException) -> bool:
        """Lost connections are transient."""
        return is_connection_lost(exc)

    def on_backend_retryable_error(self, exc: BaseException) -> None:
        """Drop the pooled connections after a lost one: the retry connects afresh."""
        # The engine itself stays: its tables are known to exist.
        if self._engine is not None:
            self._engine.dispose()

    # -- tasks ------------------------------------------------------------

    def _task_values(self, result: Any, state: str, traceback: str | None,
                     request: Any) -> dict[str, Any]:
        values = {'result': result, 'status': state, 'traceback': traceback,
                  'date_done': utcnow()}
        if self.extended_result and request is not None:
            delivery_info = getattr(request, 'delivery_info', None) or {}
            values.update(
                name=getattr(request, 'task', None),
                args=self.encode(getattr(request, 'args', None)),
                kwargs=self.encode(getattr(request, 'kwargs', None)),
                worker=getattr(request, 'hostname', None),
                retries=getattr(request, 'retries', None),
                queue=delivery_info.get('routing_key'))
            for key in ('args', 'kwargs'):
                if isinstance(values[key], str):
                    values[key] = values[key].encode('utf-8')
        return values

    def _store_result(self, task_id: str, result: Any, state: str,
                      traceback: str | None = None, request: Any = None, **kwargs: Any) -> Any:
        values = self._task_values(result, state, traceback, request)
        try:
            self._write_task(task_id, values)
        except Exception as exc:
            if not is_unstorable(exc):
                raise
            cause = getattr(exc, 'orig', exc)
            raise BackendStoreError(f'cannot store the result: {cause!r}', state=state,
                                    task_id=task_id) from exc
        return result

    @retry_on_lost_connection
    def _write_task(self, task_id: str, values: dict[str, Any]) -> None:
        table = self.tables.task
        update = table.update().where(table.c.task_id == task_id).values(**values)
        try:
            # One transaction (one commit) for both the update and the insert.
            with self.engine.begin() as conn:
                if not conn.execute(update).rowcount:
                    conn.execute(table.insert().values(task_id=task_id, **values))
        except IntegrityError:
            # Another writer inserted the row first: update it instead.
            with self.engine.begin() as conn:
                conn.execute(update)

    @retry_on_lost_connection
    def _get_task_meta_for(self, task_id: str) -> dict[str, Any]:
        table = self.tables.task
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.task_id == task_id)).first()
        if row is None:
            return {'task_id': task_id, 'status': states.PENDING, 'result': None,
                    'traceback': None, 'date_done': None, 'children': []}
        data = dict(row._mapping)
        data.pop('id', None)
        data['date_done'] = _aware(data['date_done'])
        data['children'] = []
        if self.extended_result:
            for key in ('args', 'kwargs'):
                if data.get(key) is not None:
                    data[key] = self.decode(data[key])
        return self.meta_from_decoded(data)

    @retry_on_lost_connection
    def _forget(self, task_id: str) -> None:
        table = self.tables.task
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.task_id == task_id))

    # -- groups -----------------------------------------------------------

    @retry_on_lost_connection
    def _save_group(self, group_id: str, result: Any) -> Any:
        table = self.tables.group
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.taskset_id == group_id))
            conn.execute(table.insert().values(taskset_id=group_id, result=result,
                                               date_done=utcnow()))
        return result

    @retry_on_lost_connection
    def _restore_group(self, group_id: str) -> dict[str, Any] | None:
        table = self.tables.group
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.taskset_id == group_id)).first()
        if row is None:
            return None
        from celery.result import AsyncResult, GroupResult, result_from_tuple
        stored = row.result
        # Unpickling binds results to the current app: rebind them to ours.
        if isinstance(stored, (AsyncResult, GroupResult)):
            stored = stored.as_tuple()
        return {'task_id': row.taskset_id, 'result': result_from_tuple(stored, self.app),
                'date_done': _aware(row.date_done)}

    @retry_on_lost_connection
    def _delete_group(self, group_id: str) -> None:
        table = self.tables.group
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.taskset_id == group_id))

    # -- housekeeping -----------------------------------------------------

    def cleanup(self) -> None:
        """Delete results older than ``result_expires``."""
        if not self.expires:
            return
        cutoff = utcnow() - timedelta(seconds=self.expires)
        task, group = self.tables.task, self.tables.group
        with self.engine.begin() as conn:
            conn.execute(task.delete().where(task.c.date_done < cutoff))
            conn.execute(group.delete().where(group.c.date_done < cutoff))

    def __reduce__(self, args: tuple[Any, ...] = (),
                   kwargs: dict[str, Any] | None = None) -> BackendReduce:
        kwargs = dict(kwargs or {}, dburi=self.url, expires=self.expires,
                      engine_options=self.engine_options)
        return super().__reduce__(args, kwargs)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value

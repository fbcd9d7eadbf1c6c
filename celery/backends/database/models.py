"""SQLAlchemy tables of the database backend (``celery_taskmeta``, ``celery_tasksetmeta``)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import PickleType

from celery import states

__all__ = ('ResultTables', 'Task', 'TaskExtended', 'TaskSet', 'result_tables', 'utcnow')

DEFAULT_TASK_TABLE = 'celery_taskmeta'
DEFAULT_GROUP_TABLE = 'celery_tasksetmeta'


def utcnow() -> datetime:
    """Naive UTC now, as Celery stores ``date_done``."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ResultTables(NamedTuple):
    """The task and group tables of one backend configuration."""

    metadata: sa.MetaData
    task: sa.Table
    group: sa.Table
    extended: bool


def _task_columns(schema: str | None, extended: bool) -> list[Any]:
    columns = [
        sa.Column('id', sa.Integer, sa.Sequence('task_id_sequence', schema=schema),
                  primary_key=True, autoincrement=True),
        sa.Column('task_id', sa.String(155), unique=True),
        sa.Column('status', sa.String(50), default=states.PENDING),
        sa.Column('result', PickleType, nullable=True),
        sa.Column('date_done', sa.DateTime, default=utcnow, onupdate=utcnow, nullable=True),
        sa.Column('traceback', sa.Text, nullable=True),
    ]
    if extended:
        columns += [
            sa.Column('name', sa.String(155), nullable=True),
            sa.Column('args', sa.LargeBinary, nullable=True),
            sa.Column('kwargs', sa.LargeBinary, nullable=True),
            sa.Column('worker', sa.String(155), nullable=True),
            sa.Column('retries', sa.Integer, nullable=True),
            sa.Column('queue', sa.String(155), nullable=True),
        ]
    return columns


def result_tables(names: dict[str, str] | None = None,
                  schemas: dict[str, str] | None = None,
                  extended: bool = False) -> ResultTables:
    """Build the tables for ``database_table_names`` / ``database_table_schemas``."""
    names, schemas = names or {}, schemas or {}
    metadata = sa.MetaData()
    task_schema, group_schema = schemas.get('task'), schemas.get('group')
    task = sa.Table(names.get('task', DEFAULT_TASK_TABLE), metadata,
                    *_task_columns(task_schema, extended),
                    schema=task_schema, sqlite_autoincrement=True)
    group = sa.Table(
        names.get('group', DEFAULT_GROUP_TABLE), metadata,
        sa.Column('id', sa.Integer, sa.Sequence('taskset_id_sequence', schema=group_schema),
                  autoincrement=True, primary_key=True),
        sa.Column('taskset_id', sa.String(155), unique=True),
        sa.Column('result', PickleType, nullable=True),
        sa.Column('date_done', sa.DateTime, default=utcnow, nullable=True),
        schema=group_schema, sqlite_autoincrement=True)
    return ResultTables(metadata, task, group, extended)


# -- ORM classes over the same tables, for code that queries results itself --

ResultModelBase = declarative_base()


class Task(ResultModelBase):  # type: ignore[valid-type,misc]
    """A task's stored state and result (a row of ``celery_taskmeta``)."""

    __tablename__ = DEFAULT_TASK_TABLE
    __table_args__ = {'sqlite_autoincrement': True}

    id = sa.Column(sa.Integer, sa.Sequence('task_id_sequence'), primary_key=True,
                   autoincrement=True)
    task_id = sa.Column(sa.String(155), unique=True)
    status = sa.Column(sa.String(50), default=states.PENDING)
    result = sa.Column(PickleType, nullable=True)
    date_done = sa.Column(sa.DateTime, default=utcnow, onupdate=utcnow, nullable=True)
    traceback = sa.Column(sa.Text, nullable=True)

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id

    def to_dict(self) -> dict[str, Any]:
        """The row as the backend's task meta."""
        return {'task_id': self.task_id, 'status': self.status, 'result': self.result,
                'traceback': self.traceback, 'date_done': self.date_done}

    def __repr__(self) -> str:
        return f'<Task {self.task_id} state: {self.status}>'

    @classmethod
    def configure(cls, schema: str | None = None, name: str | None = None) -> None:
        """Point the class at table ``name`` in ``schema`` (``database_table_*`` settings)."""
        _configure_table(cls, schema, name)


# Its own metadata: the extended table has the task table's name.
_extended_metadata = sa.MetaData()


class TaskExtended(Task):
    """A task's row with the ``result_extended`` columns (name, args, kwargs, ...)."""

    __table__ = sa.Table(DEFAULT_TASK_TABLE, _extended_metadata,
                         *_task_columns(None, extended=True), sqlite_autoincrement=True)
    __mapper_args__ = {'concrete': True}

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id

    def to_dict(self) -> dict[str, Any]:
        """The row as the backend's extended task meta."""
        return {**super().to_dict(), 'name': self.name, 'args': self.args,
                'kwargs': self.kwargs, 'worker': self.worker, 'retries': self.retries,
                'queue': self.queue}


class TaskSet(ResultModelBase):  # type: ignore[valid-type,misc]
    """A group's stored result (a row of ``celery_tasksetmeta``)."""

    __tablename__ = DEFAULT_GROUP_TABLE
    __table_args__ = {'sqlite_autoincrement': True}

    id = sa.Column(sa.Integer, sa.Sequence('taskset_id_sequence'), autoincrement=True,
                   primary_key=True)
    taskset_id = sa.Column(sa.String(155), unique=True)
    result = sa.Column(PickleType, nullable=True)
    date_done = sa.Column(sa.DateTime, default=utcnow, nullable=True)

    def __init__(self, taskset_id: str, result: Any) -> None:
        self.taskset_id = taskset_id
        self.result = result

    def to_dict(self) -> dict[str, Any]:
        """The row as the backend's group meta."""
        return {'taskset_id': self.taskset_id, 'result': self.result,
                'date_done': self.date_done}

    def __repr__(self) -> str:
        return f'<TaskSet: {self.taskset_id}>'

    @classmethod
    def configure(cls, schema: str | None = None, name: str | None = None) -> None:
        """Point the class at table ``name`` in ``schema`` (``database_table_*`` settings)."""
        _configure_table(cls, schema, name)


def _configure_table(cls: Any, schema: str | None, name: str | None) -> None:
    table = cls.__table__
    table.schema = schema
    table.name = name or cls.__tablename__
    for column in table.columns:
        if isinstance(column.default, sa.Sequence):
            column.default.schema = schema

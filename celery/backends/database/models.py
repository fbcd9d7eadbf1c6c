"""SQLAlchemy tables of the database backend (``celery_taskmeta``, ``celery_tasksetmeta``)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.types import PickleType

from celery import states

__all__ = ('ResultTables', 'result_tables', 'utcnow')

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

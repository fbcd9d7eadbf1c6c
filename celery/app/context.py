"""The request context of an executing task (``task.request``)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.result import ResultBase

__all__ = ('Context',)


class Context:
    """Task request variables (``Task.request``)."""

    # Fields come from the message (decoded JSON, hence the ``Any`` inside);
    # signatures arrive as dicts (a Signature is a dict too).
    _children: list[ResultBase] | None = None
    _protected = 0
    args: Sequence[Any] | None = None
    callbacks: list[dict[str, Any]] | None = None
    called_directly = True
    chain: list[dict[str, Any]] | None = None
    chord: dict[str, Any] | None = None
    correlation_id: str | None = None
    delivery_info: dict[str, Any] | None = None
    errbacks: list[dict[str, Any]] | None = None
    #: ISO-8601 text in a worker; a datetime in some eager calls.
    eta: str | datetime | None = None
    expires: str | datetime | None = None
    group: str | None = None
    group_index: int | None = None
    headers: dict[str, Any] | None = None
    hostname: str | None = None
    id: str | None = None
    ignore_result = False
    is_eager = False
    kwargs: dict[str, Any] | None = None
    logfile: str | None = None
    loglevel: int | None = None
    origin: str | None = None
    parent_id: str | None = None
    properties: dict[str, Any] | None = None
    retries = 0
    reply_to: str | None = None
    replaced_task_nesting = 0
    root_id: str | None = None
    shadow: str | None = None
    taskset: str | None = None   # compat alias to group
    timelimit: Sequence[float | None] | None = None
    #: Hard and soft time limit of this request (from ``timelimit`` unless set).
    time_limit: float | None = None
    soft_time_limit: float | None = None
    utc: bool | None = None
    stamped_headers: list[str] | None = None
    stamps: dict[str, Any] | None = None
    #: The exception :meth:`Task.retry` re-raised when the retries ran out.
    retries_exhausted_by: BaseException | None = None

    def __init__(self, *args: Any, **kwargs: object) -> None:
        self.update(*args, **kwargs)
        if self.headers is None:
            self.headers = self._get_custom_headers(*args, **kwargs)

    def _get_custom_headers(self, *args: Any, **kwargs: object) -> dict[str, object] | None:
        headers: dict[str, object] = {}
        headers.update(*args, **kwargs)
        known = _context_attributes()
        custom = {k: v for k, v in headers.items() if k not in known}
        return custom or None

    def update(self, *args: Any, **kwargs: object) -> None:
        """Update request fields from a mapping and/or keyword arguments."""
        fields = self.__dict__
        fields.update(*args, **kwargs)
        limits = fields.get('timelimit')
        if limits and 'time_limit' not in fields:
            # Messages carry the pair as ``timelimit``; the two names read it.
            fields['time_limit'], fields['soft_time_limit'] = limits

    def clear(self) -> None:
        """Reset every field to its class default."""
        self.__dict__.clear()

    def get(self, key: str, default: object = None) -> object:
        """Return field ``key`` or ``default`` (the attributes are typed)."""
        return getattr(self, key, default)

    def __repr__(self) -> str:
        return f'<Context: {vars(self)!r}>'

    def as_execution_options(self) -> dict[str, object]:
        """Options to re-send the same request (used by retry and replace)."""
        options = dict(zip(_RESENT_FIELDS, _read_resent_fields(self)))
        options['time_limit'], options['soft_time_limit'] = self._limits()
        if self.stamped_headers:
            stamps = self.stamps or {}
            options['stamped_headers'] = self.stamped_headers
            # Each stamp travels as an option of its own name, as the caller gave it.
            options.update((header, stamps.get(header)) for header in self.stamped_headers)
        return options

    @property
    def children(self) -> list[ResultBase]:
        """Results of the subtasks sent by this task (tracked for the result meta)."""
        if self._children is None:
            self._children = []
        return self._children

    def _limits(self) -> tuple[float | None, float | None]:
        hard, soft = self.timelimit or (None, None)
        if self.time_limit is not None:
            hard = self.time_limit
        if self.soft_time_limit is not None:
            soft = self.soft_time_limit
        return hard, soft


#: ``apply_async`` option → the request field whose value a re-sent request repeats.
_RESENT_FIELDS = {
    'task_id': 'id', 'root_id': 'root_id', 'parent_id': 'parent_id',
    'group_id': 'group', 'group_index': 'group_index', 'shadow': 'shadow',
    'chord': 'chord', 'chain': 'chain', 'link': 'callbacks', 'link_error': 'errbacks',
    'expires': 'expires', 'headers': 'headers', 'retries': 'retries',
    'reply_to': 'reply_to', 'replaced_task_nesting': 'replaced_task_nesting',
    'origin': 'origin',
}
_read_resent_fields = attrgetter(*_RESENT_FIELDS.values())


@cache
def _context_attributes() -> frozenset[str]:
    # Once per process: a header is custom when Context has no such attribute
    # (checked for every header of every task).
    return frozenset(dir(Context))

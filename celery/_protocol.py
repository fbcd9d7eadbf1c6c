"""Types of the task message: protocol 2 headers and body, protocol 1 body.

For type checkers only: modules import these under ``TYPE_CHECKING``, so
nothing here is loaded when celery runs.  The layout is the wire format
(see :meth:`celery.app.amqp.AMQP.as_task_v2` and ``as_task_v1``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypedDict

__all__ = ('TaskHeaders', 'TaskEmbed', 'TaskBody', 'TaskBodyV1', 'AnyTaskBody')


class TaskHeaders(TypedDict, total=False):
    """Headers of a protocol 2 task message.

    A protocol 2 producer sends every key below (most may be ``None``) except
    ``meth`` and ``compression``; protocol 1 messages carry no headers at all,
    hence ``total=False``.  Headers given to ``apply_async(headers=...)`` are
    merged in on publish and become attributes of ``task.request``.
    """

    #: Language of the producer: ``'py'``.
    lang: str
    #: Registered name of the task (how a worker tells protocol 2 apart).
    task: str
    #: The task's id (also the ``correlation_id`` property).
    id: str
    #: Name shown in logs and monitors instead of ``task``.
    shadow: str | None
    #: ISO-8601 time before which the task must not run.
    eta: str | None
    #: ISO-8601 time after which the task is revoked unrun.
    expires: str | None
    #: Id of the group the task belongs to.
    group: str | None
    #: Position of the task in its group (orders chord results).
    group_index: int | None
    #: How many times the task was retried so far.
    retries: int
    #: ``[hard, soft]`` time limits in seconds.
    timelimit: Sequence[float | None]
    #: Id of the first task of the workflow.
    root_id: str | None
    #: Id of the task that sent this one.
    parent_id: str | None
    #: Bounded ``repr`` of the positional arguments.
    argsrepr: str | None
    #: Bounded ``repr`` of the keyword arguments.
    kwargsrepr: str | None
    #: Node name of the sender.
    origin: str
    #: The worker does not store the result.
    ignore_result: bool
    #: How deep in ``Task.replace`` calls the task was sent.
    replaced_task_nesting: int
    #: Names of the stamp headers.
    stamped_headers: list[str] | None
    #: Stamp values by name.
    stamps: dict[str, Any]
    #: Unused method name some producers send.
    meth: str
    #: The compressor used on the body (added by kombu).
    compression: str


class TaskEmbed(TypedDict):
    """Third item of a protocol 2 body: the workflow around the task."""

    #: Signatures (as dicts) applied to the result when the task succeeds.
    callbacks: list[dict[str, Any]] | None
    #: Signatures (as dicts) called when the task fails.
    errbacks: list[dict[str, Any]] | None
    #: The rest of a chain, last task first (the worker pops from the end).
    chain: list[dict[str, Any]] | None
    #: The chord body to call when this header task finishes.
    chord: dict[str, Any] | None


#: A protocol 2 body: ``(args, kwargs, embed)``.
TaskBody: TypeAlias = 'tuple[Sequence[Any], Mapping[str, Any], TaskEmbed]'


class TaskBodyV1(TypedDict):
    """Body of a legacy protocol 1 task message (the headers are empty)."""

    task: str
    id: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    group: str | None
    group_index: int | None
    retries: int
    eta: str | None
    expires: str | None
    utc: bool
    callbacks: list[dict[str, Any]] | None
    errbacks: list[dict[str, Any]] | None
    timelimit: tuple[float | None, float | None]
    taskset: str | None
    chord: dict[str, Any] | None


#: The body of a task message of either protocol.
AnyTaskBody: TypeAlias = 'TaskBody | TaskBodyV1'

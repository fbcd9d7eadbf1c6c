"""Per-task-type message handlers: what happens when a task message arrives.

:func:`default` is built once per task type when the consumer starts and
returns the closure called for every message of that type.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from kombu.asynchronous.timer import to_timestamp

from celery import signals
from celery.exceptions import InvalidTaskError
from celery.utils.imports import symbol_by_name
from celery.utils.log import get_logger
from celery.utils.time import timezone
from celery.worker.state import task_reserved, task_scheduled
from celery.worker.task_request import create_request_cls

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

    from kombu.message import Message

    from celery._protocol import TaskEmbed
    from celery.app.base import Celery
    from celery.app.task import Task
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.request import Body, Request

    #: What a protocol 1 body becomes: ``((args, kwargs, embed), headers, decoded, utc)``.
    Converted = tuple[tuple[Sequence[Any], Mapping[str, Any], TaskEmbed], dict[str, Any],
                      bool, bool]

__all__ = ('default', 'hybrid_to_proto2', 'proto1_to_proto2')

logger = get_logger(__name__)

LOG_RECEIVED = 'Task %(name)s[%(id)s] received'

#: Protocol 1 body keys copied into the headers of the converted message.
_PROTO1_HEADER_KEYS = ('id', 'task', 'retries', 'eta', 'expires', 'timelimit',
                       'group', 'group_index', 'root_id', 'parent_id', 'shadow')


def hybrid_to_proto2(message: Message, body: Mapping[str, Any]) -> Converted:
    """Convert a protocol 1 body (or a protocol 2 message with a v1 body)."""
    try:
        args, kwargs = body.get('args', ()), body.get('kwargs', {})
        kwargs.items  # noqa: B018 - raises AttributeError when not a mapping
    except AttributeError as exc:
        raise InvalidTaskError('Task keyword arguments is not a mapping') from exc
    if 'task' not in body or 'id' not in body:
        raise InvalidTaskError(f'Task message is missing required fields: {sorted(body)!r}')
    headers = {key: body.get(key) for key in _PROTO1_HEADER_KEYS}
    headers['group'] = body.get('group') or body.get('taskset')
    headers['timelimit'] = body.get('timelimit') or (None, None)
    headers['retries'] = body.get('retries', 0)
    headers['lang'] = 'py'
    headers['ignore_result'] = body.get('ignore_result', False)
    headers['argsrepr'] = repr(args)
    headers['kwargsrepr'] = repr(kwargs)
    headers.update(message.headers or {})
    headers['id'], headers['task'] = body['id'], body['task']
    embed: TaskEmbed = {
        'callbacks': body.get('callbacks'),
        'errbacks': body.get('errbacks'),
        'chord': body.get('chord'),
        'chain': None,
    }
    return (args, kwargs, embed), headers, True, body.get('utc', True)


proto1_to_proto2 = hybrid_to_proto2


def _eta_timestamp(req: Request, to_system_tz: Callable[[datetime], datetime],
                   error: Callable[..., object]) -> float | None:
    if req.eta is None:
        return None
    try:
        timestamp: float = to_timestamp(to_system_tz(req.eta))
        return timestamp
    except (OverflowError, ValueError, OSError) as exc:
        error("Couldn't convert ETA %r to timestamp: %r. Task: %r",
                     req.eta, exc, req.info(safe=True), exc_info=True)
        req.reject(requeue=False)
        return None


def default(task: Task, app: Celery, consumer: Consumer,
            info: Callable[..., object] = logger.info,
            error: Callable[..., object] = logger.error,
            task_reserved: Callable[[Request], None] = task_reserved,
            to_system_tz: Callable[[datetime], datetime] = timezone.to_system,
            bytes: type[bytes] = bytes,
            proto1_to_proto2: Callable[[Message, Mapping[str, Any]], Converted] = (
                proto1_to_proto2)) -> Callable[..., object]:
    """Build the message handler for ``task``: reserve, schedule or rate-limit.

    ``error`` logs an unusable ETA, ``to_system_tz`` turns an ETA into the
    timer's clock, ``proto1_to_proto2`` converts a protocol 1 body and
    ``bytes`` copies a body the transport handed over as a ``memoryview``.
    """
    # The handler runs for every message: whatever it needs is looked up once
    # here and read from the closure, the cheapest place to read it from.
    hostname = consumer.hostname
    connection_errors = consumer.connection_errors
    # A consumer runs under its worker, which gave it its pool and timer.
    assert consumer.controller is not None and consumer.pool is not None
    assert consumer.timer is not None and task.name is not None
    revoked_tasks = consumer.controller.state.revoked
    does_info = logger.isEnabledFor(logging.INFO)
    received = signals.task_received
    utc = app.uses_utc_timezone()

    # Events: the dispatcher, and whether this task reports its own.
    eventer = consumer.event_dispatcher
    events = bool(eventer and eventer.enabled)
    send_event = eventer.send if eventer is not None and events else None
    task_sends_events = events and task.send_events
    Req = create_request_cls(symbol_by_name(task.Request), task, consumer.pool, hostname,
                             eventer, app=app)

    # Where a request goes next: to the pool now, to the timer (ETA), or
    # through its task's rate limit first.
    handle = consumer.on_task_request
    call_at = consumer.timer.call_at
    apply_eta_task = consumer.apply_eta_task
    eta_task_limit = app.conf.worker_eta_task_limit
    rate_limits_enabled = not consumer.disable_rate_limits
    get_bucket = consumer.task_buckets.__getitem__
    task_name = task.name
    limit_task = consumer._limit_task
    limit_post_eta = consumer._limit_post_eta

    def task_message_handler(message: Message, body: Mapping[str, Any] | None,
                             ack: Callable[..., object], reject: Callable[..., object],
                             callbacks: Iterable[Callable[[Request], object]] | None) -> object:
        raw: Body
        if body is None:
            raw, headers, decoded, is_utc = message.body, message.headers, False, utc
            if type(raw) is memoryview:
                # A view into a receive buffer the transport reuses: keep a copy.
                raw = bytes(raw)
        else:
            raw, headers, decoded, is_utc = proto1_to_proto2(message, body)
        req = Req(message, on_ack=ack, on_reject=reject, app=app, hostname=hostname,
                  eventer=eventer, task=task, connection_errors=connection_errors,
                  body=raw, headers=headers, decoded=decoded, utc=is_utc)
        if does_info:
            context = {'id': req.id, 'name': req.name, 'args': req.argsrepr,
                       'kwargs': req.kwargsrepr, 'eta': req.eta}
            info(LOG_RECEIVED, context, extra={'data': context})
        if (req.expires or req.id in revoked_tasks) and req.revoked():
            return None
        if received.receivers:
            received.send(sender=consumer, request=req)
        if task_sends_events and send_event is not None:
            send_event('task-received', uuid=req.id, name=req.name, args=req.argsrepr,
                       kwargs=req.kwargsrepr, root_id=req.root_id, parent_id=req.parent_id,
                       retries=req.request_dict.get('retries', 0),
                       eta=req.eta and req.eta.isoformat(),
                       expires=req.expires and req.expires.isoformat())
        bucket = get_bucket(task_name) if rate_limits_enabled else None
        if req.eta:
            eta = _eta_timestamp(req, to_system_tz, error)
            if eta is None:
                return None
            # A waiting ETA task would block a prefetch slot: take one more
            # message for it, unless worker_eta_task_limit is reached, in which
            # case the worker stops fetching until ETA tasks run.
            qos = consumer.qos
            assert qos is not None  # set by the Tasks step before messages arrive
            raised = eta_task_limit is None or \
                qos.value < consumer.initial_prefetch_count + eta_task_limit
            if raised:
                qos.increment_eventually()
            task_scheduled(req)  # listed by inspect scheduled until it is reserved
            if bucket:
                return call_at(eta, limit_post_eta, (req, bucket, 1, raised), priority=6)
            return call_at(eta, apply_eta_task, (req, raised), priority=6)
        if bucket:
            return limit_task(req, bucket, 1)
        task_reserved(req)
        if callbacks:
            for callback in callbacks:
                callback(req)
        return handle(req)

    return task_message_handler

"""A task message received by the worker: the unit the pool executes.

The parent process never deserializes a protocol 2 body on the common path:
the raw body travels to the pool child, which decodes it once.  ``args`` and
``kwargs`` are decoded here only when someone asks (inspect, errors).
"""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, cast
from weakref import ref

from billiard.einfo import ExceptionWithTraceback
from kombu.utils.encoding import safe_repr, safe_str

from celery import current_app, signals
from celery.app.trace import fast_trace_task, trace_task, trace_task_ret
from celery.concurrency.prefork import TERM_SIGNAME as _prefork_term_signame
from celery.exceptions import (
    Ignore, InvalidTaskError, Reject, Retry, TaskRevokedError,
)
from celery.utils.log import get_logger
from celery.utils.nodenames import gethostname
from celery.utils.time import maybe_iso8601, maybe_make_aware
from celery.worker import state
from celery.worker.dead_letter import (
    MALFORMED, dead_letter_if_retries_exhausted, dead_letter_message,
)
from celery.worker.request_events import request_event as _request_event
from celery.worker.request_revoke import RequestRevocation
# Defined in its own module, still importable from here as before.
from celery.worker.task_request import create_request_cls

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import tzinfo

    from billiard.einfo import ExceptionInfo
    from kombu.message import Message

    from celery._protocol import TaskEmbed
    from celery.app.base import Celery
    from celery.app.context import Context
    from celery.app.task import Task
    from celery.concurrency.base import BasePool
    from celery.events.dispatcher import EventDispatcher

    #: A body decoded by the parent: ``(args, kwargs, embed)``.
    Payload = tuple[Sequence[Any], Mapping[str, Any], TaskEmbed | None]
    #: Exception classes of a connection (the property ``type`` hides the builtin in the class).
    ErrorTypes = tuple[type[BaseException], ...]
    #: The body as received (the pool child decodes it), or already decoded.
    Body = bytes | str | memoryview | Payload

__all__ = ('Request', 'create_request_cls')

logger = get_logger(__name__)
_does_debug = logger.isEnabledFor(logging.DEBUG)

IS_PYPY = hasattr(sys, 'pypy_version_info')
#: Name of the signal that terminates a pool child (see :mod:`celery.concurrency.prefork`).
TERM_SIGNAME = _prefork_term_signame
# The worker state's revoke sets, under the names Celery's module has.
revoked_tasks = state.revoked
revoked_stamps = state.revoked_stamps


def _noop(*args: object, **kwargs: object) -> None:
    return None


def _parse_time(value: str | datetime | None, field: str, tz: tzinfo,
                make_aware: Callable[[datetime, tzinfo], datetime],
                parse_iso8601: Callable[[str | datetime | None], datetime | None]
                ) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parse_iso8601(value)
        if parsed is None:
            raise ValueError('no time given')
        return make_aware(parsed, tz)
    except (AttributeError, ValueError, TypeError) as exc:
        raise InvalidTaskError(f'invalid {field} value {value!r}: {exc}') from exc


class Request(RequestRevocation):
    """A task message with everything needed to execute, ack and report it."""

    # id and name are read for every message: slots are the fastest attributes.
    # RequestRevocation gives the __dict__ for everything else.
    __slots__ = ('id', 'name')
    #: The task's id (checked to be a string).
    id: str
    #: The task's name (its ``shadow`` name when the message has one).
    name: str
    _type: str

    acknowledged = False
    time_start: float | None = None
    worker_pid: int | None = None
    time_limits: tuple[float | None, float | None] = (None, None)
    _apply_result: Callable[[], object] | None = None
    _decoded_args: Payload | None = None

    def __init__(self, message: Message, on_ack: Callable[..., object] = _noop,
                 hostname: str | None = None, eventer: EventDispatcher | None = None,
                 app: Celery | None = None,
                 connection_errors: ErrorTypes = (),
                 request_dict: dict[str, Any] | None = None,
                 task: Task | None = None, on_reject: Callable[..., object] = _noop,
                 body: Body | None = None, headers: dict[str, Any] | None = None,
                 decoded: bool = False, utc: bool = True,
                 maybe_make_aware: Callable[[datetime, tzinfo], datetime] = maybe_make_aware,
                 maybe_iso8601: Callable[[str | datetime | None], datetime | None] = (
                     maybe_iso8601),
                 **opts: object) -> None:
        if app is None:
            # The task's app; a Request made by hand may have neither (as in
            # Celery: django-celery-results builds one with task='name' only,
            # then reads its fields).
            app = cast('Celery', getattr(task, 'app', None))
        self._message = message
        rd = self._request_dict = (message.headers if headers is None else headers).copy()
        self._body: Body = message.body if body is None else body
        self._app = app
        self._utc = utc
        self._decoded = decoded
        self._content_type: str | None
        self._content_encoding: str | None
        if decoded:
            if not isinstance(self._body, tuple):
                raise InvalidTaskError('A decoded task body is (args, kwargs, embed)')
            self._content_type = self._content_encoding = None
            self._decoded_args = self._body
        else:
            self._content_type = message.content_type
            self._content_encoding = message.content_encoding
        try:
            self.id = rd['id']
            self._type = self.name = rd['task']
        except KeyError as exc:
            raise InvalidTaskError(f'Task message is missing the {exc} header') from None
        if not isinstance(self.id, str) or not isinstance(self._type, str):
            raise InvalidTaskError(f'Task message has a malformed id/task header: '
                                   f'{self.id!r}/{self._type!r}')
        self.name = rd.get('shadow') or self.name
        timelimit = rd.get('timelimit')
        if timelimit:
            self.time_limits = (timelimit[0], timelimit[1])
        self._on_ack = on_ack
        self._on_reject = on_reject
        self._hostname = hostname or gethostname()
        self._eventer = eventer
        self._connection_errors = connection_errors
        self._task = task or app.tasks[self._type]
        eta, expires = rd.get('eta'), rd.get('expires')
        if eta is None and expires is None:  # the common case: nothing to parse
            self._eta = self._expires = None
        else:
            tz = timezone.utc if utc else (app.timezone or timezone.utc)
            self._eta = _parse_time(eta, 'ETA', tz, maybe_make_aware, maybe_iso8601)
            self._expires = _parse_time(expires, 'expires', tz, maybe_make_aware, maybe_iso8601)
        properties = message.properties or {}
        delivery_info = message.delivery_info or {}
        self._delivery_info = {
            'exchange': delivery_info.get('exchange'),
            'routing_key': delivery_info.get('routing_key'),
            'priority': properties.get('priority'),
            'redelivered': delivery_info.get('redelivered', False),
        }
        rd['properties'] = properties
        rd['reply_to'] = properties.get('reply_to')
        rd['correlation_id'] = properties.get('correlation_id')
        rd['hostname'] = self._hostname
        rd['delivery_info'] = self._delivery_info
        if self._decoded_args is not None:
            rd['args'], rd['kwargs'] = self._decoded_args[0], self._decoded_args[1]

    # -- decoded lazily: the pool child decodes the body itself ----------------

    def _payload(self) -> Payload:
        if self._decoded_args is None:
            args, kwargs, embed = self._message.decode()
            self._decoded_args = (args, kwargs, embed)
        return self._decoded_args

    @property
    def args(self) -> Sequence[Any]:
        """Positional arguments (decoded on first access)."""
        return self._payload()[0]

    @property
    def kwargs(self) -> Mapping[str, Any]:
        """Keyword arguments (decoded on first access)."""
        return self._payload()[1]

    @property
    def _context(self) -> Context:
        """A task ``Context`` for backend calls made from the parent."""
        from celery.app.task import Context
        request = dict(self._request_dict)
        args, kwargs, embed = self._payload() if self._can_decode() else ([], {}, None)
        request.update(embed or {})
        return Context(request, args=args, kwargs=kwargs)

    def _can_decode(self) -> bool:
        try:
            self._payload()
        except Exception:  # noqa: BLE001 - best effort for error reports
            return False
        return True

    # -- read-only views ---------------------------------------------------------

    @property
    def task(self) -> Task:
        return self._task

    @property
    def app(self) -> Celery:
        return self._app

    @property
    def message(self) -> Message:
        return self._message

    @property
    def request_dict(self) -> dict[str, Any]:
        return self._request_dict

    @property
    def body(self) -> Body:
        return self._body

    @property
    def content_type(self) -> str | None:
        return self._content_type

    @property
    def content_encoding(self) -> str | None:
        return self._content_encoding

    @property
    def type(self) -> str:
        return self._type

    @property
    def hostname(self) -> str:
        return self._hostname

    @property
    def eventer(self) -> EventDispatcher | None:
        return self._eventer

    @eventer.setter
    def eventer(self, eventer: EventDispatcher | None) -> None:
        self._eventer = eventer

    @property
    def connection_errors(self) -> ErrorTypes:
        return self._connection_errors

    @property
    def delivery_info(self) -> dict[str, object]:
        return self._delivery_info

    @property
    def eta(self) -> datetime | None:
        return self._eta

    @property
    def expires(self) -> datetime | None:
        return self._expires

    @property
    def utc(self) -> bool:
        return self._utc

    @property
    def on_ack(self) -> Callable[..., object]:
        return self._on_ack

    @property
    def on_reject(self) -> Callable[..., object]:
        return self._on_reject

    @property
    def tzlocal(self) -> tzinfo:
        tz: tzinfo = self._app.timezone
        return tz

    @property
    def store_errors(self) -> bool:
        return not self._task.ignore_result or bool(self._task.store_errors_even_if_ignored)

    @property
    def task_id(self) -> str:
        return self.id

    @property
    def task_name(self) -> str:
        return self.name

    # -- execution -------------------------------------------------------------------

    def execute_using_pool(self, pool: BasePool, **kwargs: object) -> object:
        """Send the request to ``pool``; the child decodes and traces it."""
        if self.revoked():
            raise TaskRevokedError(self.id)
        task = self._task
        time_limit, soft_time_limit = self.time_limits
        trace = fast_trace_task if getattr(self._app, "use_fast_trace_task", False) else trace_task_ret
        result = pool.apply_async(
            trace,
            args=(self._type, self.id, self._request_dict, self._body,
                  self._content_type, self._content_encoding),
            accept_callback=self.on_accepted,
            timeout_callback=self.on_timeout,
            callback=self.on_success,
            error_callback=self.on_failure,
            soft_timeout=soft_time_limit or task.soft_time_limit,
            timeout=time_limit or task.time_limit,
            correlation_id=self.id,
        )
        self._apply_result = ref(result) if result is not None else None
        return result

    def execute(self, loglevel: int | None = None, logfile: str | None = None) -> object:
        """Execute the task in this process (no pool)."""
        if self.revoked():
            return None
        if not self._task.acks_late:
            self.acknowledge()
        args, kwargs, embed = self._payload()
        request = dict(self._request_dict, loglevel=loglevel, logfile=logfile,
                       is_eager=False, **(embed or {}))
        retval, info, _, _ = trace_task(self._task, self.id, args, kwargs, request,
                                        hostname=self._hostname, loader=self._app.loader,
                                        app=self._app)
        if self._task.acks_late:
            self.acknowledge()
        return retval

    def send_event(self, type: str, **fields: Any) -> None:
        """Send a task event when events are enabled for this worker and task."""
        if self._eventer and self._eventer.enabled and self._task.send_events:
            self._eventer.send(type, uuid=self.id, **fields)
        # Main-process observers (metrics): a check of an empty list when none.
        if _request_event.receivers:
            _request_event.send(sender=self, type=type, fields=fields)

    # -- pool callbacks --------------------------------------------------------------

    def on_accepted(self, pid: int, time_accepted: float) -> None:
        """The pool started the task: early ack and ``task-started``."""
        state.task_accepted(self)
        self.worker_pid = pid
        self.time_start = time_accepted
        if not self._task.acks_late:
            self.acknowledge()
        self.send_event('task-started')
        if _does_debug:
            logger.debug('Task accepted: %s[%s] pid:%s', self.name, self.id, pid)
        if self._terminate_on_ack is not None:
            self.terminate(*self._terminate_on_ack)

    def on_timeout(self, soft: bool, timeout: float) -> None:
        """A time limit was exceeded (the hard one kills the child)."""
        if soft:
            logger.warning('Soft time limit (%ss) exceeded for %s[%s]',
                           timeout, self.name, self.id)
            return
        # billiard has already failed the job with TimeLimitExceeded: on_failure
        # stored the state and settled the message.
        logger.error('Hard time limit (%ss) exceeded for %s[%s]', timeout, self.name, self.id)

    def on_success(self, failed__retval__runtime: tuple[int, Any, float],
                   **kwargs: object) -> None:
        """The pool returned: ``(failed, retval, runtime)`` from the tracer."""
        failed, retval, runtime = failed__retval__runtime
        if failed:
            exc = _original_exception(retval.exception)
            # The task asked the worker process itself to exit: that is no task failure.
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise exc
            return self.on_failure(retval, return_ok=True)
        state.task_ready(self, successful=True)
        if self._task.acks_late:
            self.acknowledge()
        self.send_event('task-succeeded', result=retval, runtime=runtime)
        return None

    def on_retry(self, exc_info: ExceptionInfo) -> None:
        """The task raised Retry: send ``task-retried``."""
        self.send_event('task-retried', exception=safe_repr(exc_info.exception.exc),
                        traceback=safe_str(exc_info.traceback))

    def on_failure(self, exc_info: ExceptionInfo, send_failed_event: bool = True,
                   return_ok: bool = False) -> None:
        """The task failed (``return_ok``) or the pool reported an error."""
        from billiard.exceptions import Terminated, TimeLimitExceeded, WorkerLostError
        state.task_ready(self)
        exc = _original_exception(exc_info.exception)
        if isinstance(exc, Terminated):
            if not self._already_cancelled and not self._already_revoked:
                self._announce_revoked('terminated', True, str(exc), False)
            return
        if isinstance(exc, MemoryError):
            raise MemoryError(f'Process got: {exc}')
        if isinstance(exc, Reject):
            return self.reject(requeue=exc.requeue)
        if isinstance(exc, Ignore):
            return self.acknowledge()
        if isinstance(exc, Retry):
            return self.on_retry(exc_info)
        if isinstance(exc, InvalidTaskError):
            return self._on_invalid_body(exc)
        requeue = False
        is_worker_lost = isinstance(exc, WorkerLostError)
        is_timeout = isinstance(exc, TimeLimitExceeded)
        requeue_lost = is_worker_lost and self._task.acks_late and self._task.reject_on_worker_lost
        # Requeueing already runs the task again: retrying too would run it twice.
        if is_worker_lost and not requeue_lost and self._retry_lost(exc, exc_info):
            return
        if not requeue_lost:
            dead_letter_if_retries_exhausted(self, exc)
        if self._task.acks_late:
            if requeue_lost:
                requeue = True
                self.reject(requeue=True)
                send_failed_event = False
            elif self._already_cancelled:
                self.reject(requeue=True)
                requeue = True
            elif _acks_on(self._task, 'acks_on_timeout' if is_timeout else 'acks_on_failure'):
                self.acknowledge()
            else:
                self.reject(requeue=False)
        if not requeue and (is_worker_lost or not return_ok):
            # The child had no chance to store the failure itself.
            context = self._context
            self._task.backend.mark_as_failure(self.id, exc, request=context,
                                               store_result=self.store_errors)
            signals.task_failure.send(sender=self._task, task_id=self.id, exception=exc,
                                      args=context.args, kwargs=context.kwargs,
                                      traceback=exc_info.traceback, einfo=exc_info)
        if send_failed_event:
            self.send_event('task-failed', exception=safe_repr(exc),
                            traceback=exc_info.traceback)
        if requeue:
            logger.warning('Task %s was not finished (%r): its message was requeued.',
                           self.humaninfo(), exc)
        elif not return_ok and not is_timeout:  # on_timeout logs time limits
            logger.error('Task handler raised error: %r', exc, exc_info=exc_info.exc_info)

    def _retry_lost(self, exc: BaseException, exc_info: ExceptionInfo) -> bool:
        """Send the next attempt when :setting:`task_retry_on_worker_lost` allows it."""
        if not self._task.retry_on_worker_lost:
            return False
        from celery.app.worker_lost import retry_lost_task
        if not retry_lost_task(self._task, self._context, exc):
            return False
        # The next attempt is a new message: this one is done.
        self.acknowledge()
        self.send_event('task-retried', exception=safe_repr(exc),
                        traceback=safe_str(exc_info.traceback))
        return True

    def _on_invalid_body(self, exc: BaseException) -> None:
        logger.error('Rejected task message %s: %s (content_type %r, delivery_info %r)',
                     self.humaninfo(), exc, self._content_type, self._delivery_info)
        dead_letter_message(self._app, self._message, MALFORMED, self._hostname, repr(exc))
        self.reject(requeue=False)
        self._task.backend.mark_as_failure(self.id, exc, request=self._context,
                                           store_result=self.store_errors)
        signals.task_rejected.send(sender=self, message=self._message, exc=exc)

    def acknowledge(self) -> None:
        """Ack the message (once)."""
        if not self.acknowledged:
            self._on_ack(logger, self._connection_errors)
            self.acknowledged = True

    def reject(self, requeue: bool = False) -> None:
        """Reject the message (once), optionally putting it back on the queue."""
        if not self.acknowledged:
            self._on_reject(logger, self._connection_errors, requeue)
            self.acknowledged = True
            self.send_event('task-rejected', requeue=requeue)

    # -- introspection -----------------------------------------------------------

    def info(self, safe: bool = False) -> dict[str, Any]:
        """A dict describing the request (``inspect active``/``reserved``)."""
        return {
            'id': self.id,
            'name': self.name,
            'args': self.argsrepr if safe or not self._can_decode() else self.args,
            'kwargs': self.kwargsrepr if safe or not self._can_decode() else self.kwargs,
            'type': self._type,
            'hostname': self._hostname,
            'time_start': self.time_start,
            'acknowledged': self.acknowledged,
            'delivery_info': self._delivery_info,
            'worker_pid': self.worker_pid,
        }

    def humaninfo(self) -> str:
        return f'{self.name}[{self.id}]'

    def __str__(self) -> str:
        eta = f' ETA:[{self._eta}]' if self._eta else ''
        expires = f' expires:[{self._expires}]' if self._expires else ''
        return f'{self.humaninfo()}{eta}{expires}'

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.humaninfo()} {self.argsrepr} {self.kwargsrepr}>'


def _original_exception(exc: BaseException) -> BaseException:
    """The exception a task raised, unwrapped if it travelled back from a pool child."""
    return exc.exc if isinstance(exc, ExceptionWithTraceback) else exc


def _acks_on(task: Task, attr: str) -> bool:
    """Resolve ``acks_on_failure``/``acks_on_timeout`` with the older combined switch."""
    value = getattr(task, attr, None)
    if value is None:
        value = getattr(task, 'acks_on_failure_or_timeout', True)
    return value is None or bool(value)

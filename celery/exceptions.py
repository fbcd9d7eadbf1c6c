"""The errors and warnings raised by this package, and the ones it re-exports."""
from __future__ import annotations

import numbers
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

    # Loaded on first use at run time (see ``__getattr__``); named here for type checkers.
    from billiard.exceptions import (
        SoftTimeLimitExceeded,
        Terminated,
        TimeLimitExceeded,
        WorkerLostError,
    )
    from kombu.exceptions import OperationalError

    from celery.canvas import Signature

__all__ = (
    'reraise',
    # warnings
    'CeleryWarning', 'AlwaysEagerIgnored', 'DuplicateNodenameWarning',
    'DuplicateTaskNameWarning', 'FixupWarning',
    'NotConfigured', 'SecurityWarning', 'CPendingDeprecationWarning', 'CDeprecationWarning',
    # errors of the app, its configuration and its security
    'CeleryError', 'ImproperlyConfigured', 'SecurityError', 'CeleryCommandException',
    # what a task raises to steer its own outcome
    'TaskPredicate', 'Ignore', 'Reject', 'Retry',
    # errors about tasks and their results
    'TaskError', 'QueueNotFound', 'IncompleteStream', 'NotRegistered', 'AlreadyRegistered',
    'TimeoutError', 'MaxRetriesExceededError', 'TaskRevokedError', 'InvalidTaskError',
    'ChordError', 'BackendError', 'BackendGetMetaError', 'BackendStoreError',
    'DeadLetterNotFound', 'DeadLetterQueueNotFound',
    # raised by kombu (broker) and billiard (pool), re-exported here
    'OperationalError', 'SoftTimeLimitExceeded', 'TimeLimitExceeded', 'WorkerLostError',
    'Terminated',
    # exits that stop a worker (SystemExit subclasses)
    'WorkerShutdown', 'WorkerTerminate',
)

# Celery's user-visible text, kept verbatim (``repr(NotRegistered(name))``).
UNREGISTERED_FMT = """\
Task of kind {0} never registered, please make sure it's imported.\
"""


def reraise(tp: type[BaseException], value: BaseException,
            tb: TracebackType | None = None) -> None:
    """Raise ``value`` again, carrying traceback ``tb`` (``tp`` is ignored)."""
    if value.__traceback__ is not tb:
        raise value.with_traceback(tb)
    raise value


# -- warnings ---------------------------------------------------------------------------

class CeleryWarning(UserWarning):
    """Root of the warnings this package issues."""


class AlwaysEagerIgnored(CeleryWarning):
    """``send_task`` sends the message even with :setting:`task_always_eager` on."""


class DuplicateNodenameWarning(CeleryWarning):
    """More than one running worker answers to the same node name."""


class DuplicateTaskNameWarning(CeleryWarning):
    """Another function was given the name of a task the app already has."""


class FixupWarning(CeleryWarning):
    """A framework fixup (such as Django's) found something it could not set up."""


class NotConfigured(CeleryWarning):
    """No configuration module was found, so the defaults are in use."""


class SecurityWarning(CeleryWarning):
    """The setup looks insecure (for example: pickle accepted, or running as root)."""


class CPendingDeprecationWarning(PendingDeprecationWarning):
    """Something is going to be deprecated in a future version."""


class CDeprecationWarning(DeprecationWarning):
    """Something is deprecated and will be removed."""


# -- errors of the app ------------------------------------------------------------------

class CeleryError(Exception):
    """Root of the errors this package raises (backend errors and worker exits aside)."""


class ImproperlyConfigured(CeleryError):
    """The configuration is wrong or incomplete."""


class SecurityError(CeleryError):
    """A message failed the security checks (signature, certificate, content type)."""


# -- task predicates: raised by a task to say how it ends -------------------------------

class TaskPredicate(CeleryError):
    """Root of the exceptions a task raises on purpose to steer what happens next."""


class Retry(TaskPredicate):
    """Raised (by ``Task.retry``) to have the task run again later."""

    #: Text to report instead of the generated one.
    message: str | None = None
    #: The error that made the task retry, when there was one.
    exc: BaseException | None = None
    #: When the retry runs: seconds from now, or a :class:`~datetime.datetime`.
    when: float | datetime | None = None

    def __init__(self, message: str | None = None, exc: BaseException | str | None = None,
                 when: float | datetime | None = None, is_eager: bool = False,
                 sig: Signature | None = None, **kwargs: Any) -> None:
        self.message = message
        self.exc, self.excs = _retry_cause(exc)
        self.when = when
        self.is_eager = is_eager
        self.sig = sig
        super().__init__(self, exc, when, **kwargs)

    def humanize(self) -> str:
        """Say when the retry happens: ``in 10s`` or ``at <date>``."""
        return f'in {self.when}s' if isinstance(self.when, numbers.Number) else f'at {self.when}'

    def __str__(self) -> str:
        if self.message:
            return self.message
        cause = f': {self.excs}' if self.excs else ''
        return f'Retry {self.humanize()}{cause}'

    def __reduce__(self) -> tuple[type[Retry], tuple[object, ...]]:
        return self.__class__, (self.message, self.exc, self.when)


RetryTaskError = Retry


def _retry_cause(exc: BaseException | str | None) -> tuple[BaseException | None, str | None]:
    """Split a retry's cause into the exception (if any) and the text that describes it."""
    if isinstance(exc, str):
        # Only a description, e.g. from a retry that was serialized.
        return None, exc
    return exc, safe_exc_repr(exc) if exc else None


class Ignore(TaskPredicate):
    """Raised by a task to end without any state being stored for it."""


class Reject(TaskPredicate):
    """Raised by a task to reject its message, optionally putting it back in the queue."""

    def __init__(self, reason: object = None, requeue: bool = False) -> None:
        self.reason = reason
        self.requeue = requeue
        super().__init__(reason, requeue)

    def __repr__(self) -> str:
        return f'reject requeue={self.requeue}: {self.reason}'


# -- errors about tasks and results -----------------------------------------------------

class TaskError(CeleryError):
    """Root of the errors about a task, its message or its result."""


class QueueNotFound(KeyError, TaskError):
    """A task was routed to a queue that :setting:`task_queues` does not define."""


class IncompleteStream(TaskError):
    """A stream of data ended before all of it arrived."""


class NotRegistered(KeyError, TaskError):
    """No task of that name is in the registry."""

    def __repr__(self) -> str:
        return UNREGISTERED_FMT.format(self)


class AlreadyRegistered(TaskError):
    """A task of that name is in the registry already."""


class TimeoutError(TaskError):
    """Waiting (for a result, a reply) took longer than allowed."""


class MaxRetriesExceededError(TaskError):
    """A task asked to retry once more than its ``max_retries`` allows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The arguments of the call that gave up, for handlers that log or resend it.
        self.task_args = kwargs.pop('task_args', [])
        self.task_kwargs = kwargs.pop('task_kwargs', {})
        super().__init__(*args, **kwargs)


class TaskRevokedError(TaskError):
    """The task was revoked, so it will never have a result."""


class InvalidTaskError(TaskError):
    """A task message is malformed or misses required fields."""


class DeadLetterNotFound(KeyError, TaskError):
    """No dead letter has the id that was asked for."""


class DeadLetterQueueNotFound(TaskError):
    """A dead letter was to be replayed to a queue the broker does not have."""


class ChordError(TaskError):
    """A chord cannot complete, e.g. because a header task failed."""


class BackendError(Exception):
    """Reading from or writing to the result backend failed."""


class BackendGetMetaError(BackendError):
    """Reading a task's state from the result backend failed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The message stays in ``args`` (set by Exception.__new__); only the id is kept apart.
        self.task_id = kwargs.get('task_id', '')

    def __repr__(self) -> str:
        return f'{super().__repr__()} task_id:{self.task_id}'


class BackendStoreError(BackendError):
    """Storing a task's state in the result backend failed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state = kwargs.get('state', '')
        self.task_id = kwargs.get('task_id', '')

    def __repr__(self) -> str:
        return f'{super().__repr__()} state:{self.state} task_id:{self.task_id}'


# -- worker exits -----------------------------------------------------------------------

class WorkerTerminate(SystemExit):
    """Raised to stop the worker at once (cold shutdown)."""


SystemTerminate = WorkerTerminate


class WorkerShutdown(SystemExit):
    """Raised to stop the worker after the running tasks finish (warm shutdown)."""


def safe_exc_repr(exc: BaseException) -> str:
    """Return ``repr(exc)``, or a placeholder when ``__repr__`` itself fails."""
    try:
        return repr(exc)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the retry
        return f'<unrepresentable {type(exc).__name__}>'


# Re-exports from kombu, billiard and click are resolved on first use so that
# importing this module (and so ``Celery()``) does not import those packages.
_LAZY_REEXPORTS = {
    'OperationalError': 'kombu.exceptions',
    'SoftTimeLimitExceeded': 'billiard.exceptions',
    'TimeLimitExceeded': 'billiard.exceptions',
    'WorkerLostError': 'billiard.exceptions',
    'Terminated': 'billiard.exceptions',
}


def _make_command_exception() -> type:
    from click import ClickException

    class CeleryCommandException(ClickException):
        """A general command exception which stores an exit code."""

        def __init__(self, message: str, exit_code: int) -> None:
            super().__init__(message=message)
            # Per instance, as in Celery, where click declares a class constant.
            self.exit_code = exit_code  # type: ignore[misc]

    CeleryCommandException.__module__ = __name__
    return CeleryCommandException


def __getattr__(name: str) -> type[BaseException]:
    value: type[BaseException]
    if name == 'CeleryCommandException':
        value = _make_command_exception()
    elif name in _LAZY_REEXPORTS:
        import importlib
        value = getattr(importlib.import_module(_LAZY_REEXPORTS[name]), name)
    else:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    globals()[name] = value
    return value

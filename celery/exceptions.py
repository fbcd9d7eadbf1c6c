"""Every error and warning class Celery raises."""
from __future__ import annotations

import numbers
from datetime import datetime
from typing import Any

__all__ = (
    'reraise',
    # Warnings
    'CeleryWarning', 'AlwaysEagerIgnored', 'DuplicateNodenameWarning',
    'FixupWarning', 'NotConfigured', 'SecurityWarning',
    # Core errors
    'CeleryError', 'ImproperlyConfigured', 'SecurityError',
    # Kombu (messaging) errors.
    'OperationalError',
    # Task semi-predicates
    'TaskPredicate', 'Ignore', 'Reject', 'Retry',
    # Task related errors.
    'TaskError', 'QueueNotFound', 'IncompleteStream',
    'NotRegistered', 'AlreadyRegistered', 'TimeoutError',
    'MaxRetriesExceededError', 'TaskRevokedError',
    'InvalidTaskError', 'ChordError',
    # Backend related errors.
    'BackendError', 'BackendGetMetaError', 'BackendStoreError',
    # Billiard task errors.
    'SoftTimeLimitExceeded', 'TimeLimitExceeded',
    'WorkerLostError', 'Terminated',
    # Deprecation warnings (forcing Python to emit them).
    'CPendingDeprecationWarning', 'CDeprecationWarning',
    # Worker shutdown semi-predicates (inherits from SystemExit).
    'WorkerShutdown', 'WorkerTerminate',
    'CeleryCommandException',
)

UNREGISTERED_FMT = """\
Task of kind {0} never registered, please make sure it's imported.\
"""


def reraise(tp: type[BaseException], value: BaseException, tb: Any = None) -> None:
    """Re-raise ``value`` with traceback ``tb``."""
    if value.__traceback__ is not tb:
        raise value.with_traceback(tb)
    raise value


class CeleryWarning(UserWarning):
    """Base class for all Celery warnings."""


class AlwaysEagerIgnored(CeleryWarning):
    """send_task ignores :setting:`task_always_eager` option."""


class DuplicateNodenameWarning(CeleryWarning):
    """Multiple workers are using the same nodename."""


class FixupWarning(CeleryWarning):
    """Fixup related warning."""


class NotConfigured(CeleryWarning):
    """Celery hasn't been configured, as no config module has been found."""


class SecurityWarning(CeleryWarning):
    """Potential security issue found."""


class CeleryError(Exception):
    """Base class for all Celery errors."""


class TaskPredicate(CeleryError):
    """Base class for task-related semi-predicates."""


class Retry(TaskPredicate):
    """The task is to be retried later."""

    #: Optional message describing context of retry.
    message: str | None = None
    #: Exception (if any) that caused the retry to happen.
    exc: BaseException | None = None
    #: Time of retry (ETA), either :class:`numbers.Real` or :class:`~datetime.datetime`.
    when: numbers.Real | datetime | None = None

    def __init__(self, message: str | None = None, exc: BaseException | str | None = None,
                 when: numbers.Real | datetime | None = None, is_eager: bool = False,
                 sig: Any = None, **kwargs: Any) -> None:
        self.message = message
        if isinstance(exc, str):
            self.exc, self.excs = None, exc
        else:
            self.exc = exc
            self.excs = safe_exc_repr(exc) if exc else None
        self.when = when
        self.is_eager = is_eager
        self.sig = sig
        super().__init__(self, exc, when, **kwargs)

    def humanize(self) -> str:
        """Return ``in 10s`` / ``at <date>`` describing when the retry happens."""
        if isinstance(self.when, numbers.Number):
            return f'in {self.when}s'
        return f'at {self.when}'

    def __str__(self) -> str:
        if self.message:
            return self.message
        if self.excs:
            return f'Retry {self.humanize()}: {self.excs}'
        return f'Retry {self.humanize()}'

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.message, self.exc, self.when)


RetryTaskError = Retry


class Ignore(TaskPredicate):
    """A task can raise this to ignore doing state updates."""


class Reject(TaskPredicate):
    """A task can raise this if it wants to reject/re-queue the message."""

    def __init__(self, reason: Any = None, requeue: bool = False) -> None:
        self.reason = reason
        self.requeue = requeue
        super().__init__(reason, requeue)

    def __repr__(self) -> str:
        return f'reject requeue={self.requeue}: {self.reason}'


class ImproperlyConfigured(CeleryError):
    """Celery is somehow improperly configured."""


class SecurityError(CeleryError):
    """Security related exception."""


class TaskError(CeleryError):
    """Task related errors."""


class QueueNotFound(KeyError, TaskError):
    """Task routed to a queue not in ``conf.queues``."""


class IncompleteStream(TaskError):
    """Found the end of a stream of data, but the data isn't complete."""


class NotRegistered(KeyError, TaskError):
    """The task is not registered."""

    def __repr__(self) -> str:
        return UNREGISTERED_FMT.format(self)


class AlreadyRegistered(TaskError):
    """The task is already registered."""


class TimeoutError(TaskError):
    """The operation timed out."""


class MaxRetriesExceededError(TaskError):
    """The tasks max restart limit has been exceeded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.task_args = kwargs.pop('task_args', [])
        self.task_kwargs = kwargs.pop('task_kwargs', {})
        super().__init__(*args, **kwargs)


class TaskRevokedError(TaskError):
    """The task has been revoked, so no result available."""


class InvalidTaskError(TaskError):
    """The task has invalid data or ain't properly constructed."""


class ChordError(TaskError):
    """A task part of the chord raised an exception."""


class CPendingDeprecationWarning(PendingDeprecationWarning):
    """Warning of pending deprecation."""


class CDeprecationWarning(DeprecationWarning):
    """Warning of deprecation."""


class WorkerTerminate(SystemExit):
    """Signals that the worker should terminate immediately."""


SystemTerminate = WorkerTerminate


class WorkerShutdown(SystemExit):
    """Signals that the worker should perform a warm shutdown."""


class BackendError(Exception):
    """An issue writing or reading to/from the backend."""


class BackendGetMetaError(BackendError):
    """An issue reading from the backend."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.task_id = kwargs.get('task_id', '')

    def __repr__(self) -> str:
        return super().__repr__() + ' task_id:' + self.task_id


class BackendStoreError(BackendError):
    """An issue writing to the backend."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state = kwargs.get('state', '')
        self.task_id = kwargs.get('task_id', '')

    def __repr__(self) -> str:
        return super().__repr__() + ' state:' + self.state + ' task_id:' + self.task_id


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
            self.exit_code = exit_code

    CeleryCommandException.__module__ = __name__
    return CeleryCommandException


def __getattr__(name: str) -> Any:
    if name == 'CeleryCommandException':
        value = _make_command_exception()
    elif name in _LAZY_REEXPORTS:
        import importlib
        value = getattr(importlib.import_module(_LAZY_REEXPORTS[name]), name)
    else:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    globals()[name] = value
    return value

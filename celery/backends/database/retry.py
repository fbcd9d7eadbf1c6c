"""What the database backend retries (a lost connection) and what it refuses to store."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy.exc import DataError, DBAPIError, StatementError
from sqlalchemy.exc import OperationalError as SAOperationalError

from celery.utils.log import get_logger

__all__ = ('MAX_ATTEMPTS', 'RETRYABLE_DB_ERRORS', 'is_connection_lost', 'is_unstorable',
           'retry_on_lost_connection')

logger = get_logger(__name__)

#: Tries of one operation when the connection keeps dropping.
MAX_ATTEMPTS = 3

#: Errors that may mean a lost connection (:func:`is_connection_lost` decides).
RETRYABLE_DB_ERRORS = (SAOperationalError, DBAPIError)

F = TypeVar('F', bound=Callable[..., Any])


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection (not the statement) failed: worth a new try."""
    return isinstance(exc, SAOperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


def is_unstorable(exc: BaseException) -> bool:
    """Whether ``exc`` says the value itself cannot be stored (too large, not serializable)."""
    if isinstance(exc, DataError):
        return True
    # A statement error that never reached the database: binding (pickling) the value failed.
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


def retry_on_lost_connection(operation: F) -> F:
    """Run ``operation`` again (on a fresh connection) when its connection was lost."""
    @wraps(operation)
    def _retrying(*args: Any, **kwargs: Any) -> Any:
        attempt = 1
        while True:
            try:
                return operation(*args, **kwargs)
            except DBAPIError as exc:
                if attempt >= MAX_ATTEMPTS or not is_connection_lost(exc):
                    raise
                # The pool dropped the dead connection: the next try checks out a new one.
                logger.warning('Failed operation %s.  Retrying %s more times.',
                               operation.__name__, MAX_ATTEMPTS - attempt, exc_info=True)
                attempt += 1
    return _retrying  # type: ignore[return-value]

"""The result of a task executed locally."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vine import promise

from celery import states
from celery._typing import R_co
from celery.exceptions import TaskRevokedError
from celery.result.async_result import AsyncResult
from celery.result.guards import assert_will_not_block

__all__ = ('EagerResult',)


class EagerResult(AsyncResult[R_co]):
    """The result of a task run locally (``apply()`` / ``task_always_eager``)."""

    def __init__(self, id: str, ret_value: R_co | BaseException | None, state: str,
                 traceback: str | None = None,
                 name: str | None = None) -> None:
        self.id = id
        self._result = ret_value
        self._state = state
        self._traceback = traceback
        self._name = name
        self.parent = None
        self.on_ready = promise()
        self.on_ready(self)

    def then(self, callback: Callable[..., object], on_error: Callable[..., object] | None = None,
             weak: bool = False) -> promise:
        """Call ``callback`` now: the result is already ready."""
        return self.on_ready.then(callback, on_error)

    def _get_task_meta(self) -> dict[str, Any]:
        return self._cache

    def __reduce_args__(self) -> tuple[object, ...]:
        return self.id, self._result, self._state, self._traceback, self._name

    def __copy__(self) -> EagerResult[R_co]:
        return type(self)(self.id, self._result, self._state, self._traceback, self._name)

    def ready(self) -> bool:
        """Always ready."""
        return True

    # Celery's signature: ``disable_sync_subtasks`` is the third positional
    # parameter here (``interval`` in AsyncResult.get), the rest are ignored.
    def get(self, timeout: float | None = None,  # type: ignore[override]
            propagate: bool = True, disable_sync_subtasks: bool = True,
            **kwargs: Any) -> R_co:
        """Return the value, or raise the task's exception when ``propagate``."""
        if disable_sync_subtasks:
            assert_will_not_block()
        # The value, or with propagate=False the failure's exception (as in Celery).
        value: R_co = self.result
        if self.successful():
            return value
        if self.state in states.PROPAGATE_STATES:
            if propagate:
                raise value if isinstance(value, BaseException) else Exception(value)
            return value
        return None  # type: ignore[return-value]  # not ready: no value

    wait = get  # type: ignore[assignment]

    def forget(self) -> None:
        """Nothing is stored, so nothing to forget."""

    def revoke(self, *args: Any, **kwargs: Any) -> None:
        """Mark as revoked locally: ``get()`` then raises :exc:`TaskRevokedError`."""
        self._state = states.REVOKED
        self._result = TaskRevokedError('revoked')

    def __repr__(self) -> str:
        return f'<EagerResult: {self.id}>'

    @property
    def _cache(self) -> dict[str, Any]:  # type: ignore[override]
        return {'task_id': self.id, 'result': self._result, 'status': self._state,
                'traceback': self._traceback, 'name': self._name}

    @property
    def result(self) -> Any:
        """The return value or exception."""
        # Any, as AsyncResult.result: R_co when it succeeded, an exception when not.
        return self._result

    @property
    def state(self) -> str:
        """The final state."""
        return self._state

    status = state

    @property
    def traceback(self) -> str | None:
        """The traceback text of a failure."""
        return self._traceback

    @property
    def supports_native_join(self) -> bool:
        """Eager results are never joined natively."""
        return False

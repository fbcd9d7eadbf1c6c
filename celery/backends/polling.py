"""Waiting for results by polling the backend (the backends without push)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from celery import states
from celery.exceptions import ImproperlyConfigured, TimeoutError

if TYPE_CHECKING:
    from celery.result import AsyncResult, ResultSet

__all__ = ('SyncBackendMixin',)

#: A result registered as pending: returned as it is.
ResultT = TypeVar('ResultT')


class SyncBackendMixin:
    """Wait for results by polling :meth:`Backend.get_task_meta`."""

    if TYPE_CHECKING:
        # Provided by :class:`~celery.backends.base.Backend`, which this is mixed with.
        def _ensure_not_eager(self) -> None: ...

        def get_task_meta(self, task_id: str, cache: bool = True) -> dict[str, Any]: ...

    def iter_native(self, result: ResultSet, timeout: float | None = None,
                    interval: float = 0.5, no_ack: bool = True,
                    on_message: Callable[..., Any] | None = None,
                    on_interval: Callable[[], Any] | None = None,
                    ) -> Iterator[tuple[str | None, Any]]:
        """Yield ``(task_id, meta)`` for the members of ``result`` as they finish."""
        from celery.result import ResultSet
        self._ensure_not_eager()
        task_ids = set()
        for node in result.results or ():
            if isinstance(node, ResultSet):
                # A nested group: its id and its members as they are.
                yield getattr(node, 'id', None), node.results
            else:
                task_ids.add(node.id)
        yield from self.get_many(task_ids, timeout=timeout, interval=interval, no_ack=no_ack,
                                 on_message=on_message, on_interval=on_interval)

    def get_many(self, task_ids: Iterable[str], timeout: float | None = None, interval: float = 0.5,
                 no_ack: bool = True, on_message: Callable[..., Any] | None = None,
                 on_interval: Callable[[], Any] | None = None,
                 **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Poll each id until ready (key/value backends fetch them in bulk)."""
        for task_id in task_ids:
            meta = self.wait_for(task_id, timeout=timeout, interval=interval,
                                 on_interval=on_interval, no_ack=no_ack)
            if on_message is not None:
                on_message(meta)
            yield task_id, meta

    def wait_for_pending(self, result: AsyncResult[Any], timeout: float | None = None,
                         interval: float = 0.5, no_ack: bool = True,
                         on_message: Callable[..., Any] | None = None,
                         on_interval: Callable[[], Any] | None = None,
                         callback: Callable[..., Any] | None = None,
                         propagate: bool = True) -> object:
        """Block until ``result`` is ready, then return (or raise) its value."""
        self._ensure_not_eager()
        if on_message is not None:
            raise ImproperlyConfigured(
                f'{type(self).__name__} does not support the on_message callback: '
                'use the redis or rpc backend for state streaming')
        if result.id is None:
            raise ValueError('Cannot wait for a result without a task id')
        meta = self.wait_for(result.id, timeout=timeout, interval=interval,
                             on_interval=on_interval, no_ack=no_ack)
        result._maybe_set_cache(meta)
        # The value, or the exception when it failed and ``propagate`` is off.
        return result.maybe_throw(propagate=propagate, callback=callback)

    def wait_for(self, task_id: str, timeout: float | None = None, interval: float = 0.5,
                 no_ack: bool = True,
                 on_interval: Callable[[], Any] | None = None) -> dict[str, Any]:
        """Poll until the task is ready; :exc:`~celery.exceptions.TimeoutError` after ``timeout``."""
        self._ensure_not_eager()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            meta = self.get_task_meta(task_id)
            if meta['status'] in states.READY_STATES:
                return meta
            if on_interval:
                on_interval()
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError('The operation timed out.')
                self._wait_for_change(min(interval, remaining))
            else:
                self._wait_for_change(interval)

    def _wait_for_change(self, seconds: float) -> None:
        """Pause between two polls of :meth:`wait_for` (a backend may wake up earlier)."""
        time.sleep(seconds)

    def add_pending_result(self, result: ResultT, weak: bool = False) -> ResultT:
        """Polling backends keep no registry of waiting results."""
        return result

    def remove_pending_result(self, result: ResultT) -> ResultT:
        """Polling backends keep no registry of waiting results."""
        return result

    @property
    def is_async(self) -> bool:
        """Polling backends are not push-based."""
        return False

"""The threads pool: jobs run in a :class:`concurrent.futures.ThreadPoolExecutor`."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future

    from billiard.einfo import ExceptionInfo

from celery.concurrency.base import BasePool, apply_target

__all__ = ('TaskPool', 'ApplyResult')


class ApplyResult:
    """Handle on a job submitted to the thread pool."""

    def __init__(self, future: Future[Any]) -> None:
        self.f = future
        self.get = future.result

    def wait(self, timeout: float | None = None) -> None:
        """Block until the job finished (or ``timeout`` seconds passed)."""
        wait([self.f], timeout)


class TaskPool(BasePool):
    """Execute jobs in ``limit`` threads of this process.

    Time limits are not enforced and running jobs cannot be terminated.
    Callbacks run in the consumer's thread (see :class:`BasePool`).
    """

    callbacks_need_relay = True
    signal_safe = False

    executor: ThreadPoolExecutor | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = self.limit or 1
        self.executor = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix='celery-pool')

    def on_apply(self, target: Callable[..., object], args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None,
                 callback: Callable[[Any], object] | None = None,
                 accept_callback: Callable[[int, float], object] | None = None,
                 error_callback: Callable[[ExceptionInfo], object] | None = None,
                 **_: Any) -> ApplyResult:
        """Queue the job for the next free thread."""
        future = self.executor.submit(apply_target, target, args, kwargs, callback, accept_callback,
                                      propagate=self.callbacks_propagate, error_callback=error_callback)
        return ApplyResult(future)

    def on_stop(self) -> None:
        """Wait for running jobs, then stop the threads."""
        self.executor.shutdown(wait=True)
        self.relay.close()

    def on_terminate(self) -> None:
        """Drop queued jobs; running jobs finish in the background."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.relay.close()

    def _get_info(self) -> dict[str, Any]:
        info = super()._get_info()
        info.update({'max-concurrency': self.limit, 'threads': len(self.executor._threads)})
        return info

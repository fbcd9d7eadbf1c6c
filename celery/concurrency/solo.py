"""The solo pool: jobs run inline in the consumer thread, one at a time."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery.concurrency.base import BasePool, apply_target

if TYPE_CHECKING:
    from billiard.einfo import ExceptionInfo

__all__ = ('TaskPool',)


class TaskPool(BasePool):
    """Execute each job inline, blocking the consumer until it returns.

    Time limits are not enforced; remote control commands wait for the
    running task.
    """

    body_can_be_buffer = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = 1

    def on_start(self) -> None:
        """Announce the (only) worker process."""
        from celery import signals
        signals.worker_process_init.send(sender=None)

    def on_stop(self) -> None:
        """Announce that the worker process is going away."""
        from celery import signals
        signals.worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)

    def on_apply(self, target: Callable[..., object], args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None,
                 callback: Callable[[Any], object] | None = None,
                 accept_callback: Callable[[int, float], object] | None = None,
                 error_callback: Callable[[ExceptionInfo], object] | None = None,
                 **_: Any) -> None:
        """Run the job now."""
        apply_target(target, args, kwargs, callback, accept_callback,
                     propagate=self.callbacks_propagate, error_callback=error_callback)

    def _get_info(self) -> dict[str, Any]:
        info = super()._get_info()
        info.update({'max-concurrency': 1, 'processes': [os.getpid()],
                     'max-tasks-per-child': None, 'put-guarded-by-semaphore': True,
                     'timeouts': ()})
        return info

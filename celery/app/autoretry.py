"""Automatic retries: the ``autoretry_for`` family of task options."""
from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING, Any

from celery.exceptions import Ignore, Retry

if TYPE_CHECKING:
    from celery.app.task import Task

__all__ = ('add_autoretry_behaviour',)


def add_autoretry_behaviour(task: Task, **options: Any) -> None:
    """Wrap ``task.run`` so the exceptions in ``autoretry_for`` retry the task."""
    def option(name: str, default: Any) -> Any:
        return options.get(name, getattr(task, name, default))

    autoretry_for = tuple(option('autoretry_for', ()))
    if not autoretry_for or hasattr(task, '_orig_run'):
        return
    dont_autoretry_for = tuple(option('dont_autoretry_for', ()))
    retry_kwargs = dict(option('retry_kwargs', {}) or {})
    retry_backoff = float(option('retry_backoff', False))
    retry_backoff_max = int(option('retry_backoff_max', 600))
    retry_jitter = bool(option('retry_jitter', True))
    # Control-flow exceptions pass straight through even when they match autoretry_for.
    passthrough = (Ignore, Retry) + dont_autoretry_for

    # Instance attributes over the class's ``run``: only this task is wrapped.
    run = task.run
    vars(task)['_orig_run'] = run

    @wraps(run)
    def run_with_autoretry(*args: Any, **kwargs: Any) -> Any:
        try:
            return run(*args, **kwargs)
        except passthrough:
            raise
        except autoretry_for as exc:
            if getattr(task.request, 'retries_exhausted_by', None) is exc:
                raise  # the task's own self.retry() gave up with it
            call_kwargs = dict(retry_kwargs)
            if retry_backoff:
                from celery.utils.time import get_exponential_backoff_interval
                call_kwargs['countdown'] = get_exponential_backoff_interval(
                    factor=int(max(1.0, retry_backoff)),
                    retries=task.request.retries,
                    maximum=retry_backoff_max,
                    full_jitter=retry_jitter,
                )
            raise task.retry(exc=exc, **call_kwargs)

    vars(task)['run'] = run_with_autoretry

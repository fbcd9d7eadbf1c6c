"""The parent of a bootstep: the WorkController (worker steps) or the Consumer.

:class:`celery.bootsteps.Step` types ``create`` and ``include_if`` for either
parent; a step narrows it with these (a step put in the other blueprint gets
a clear error instead of an :exc:`AttributeError` later).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from celery.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.bootsteps import Step
    from celery.worker.consumer.consumer import Consumer
    from celery.worker.worker import WorkController


def worker_of(step: Step, parent: WorkController | Consumer) -> WorkController:
    """``parent`` of the worker step ``step``."""
    from celery.worker.consumer.consumer import Consumer
    if isinstance(parent, Consumer):
        raise ImproperlyConfigured(f'{step!r} is a worker step, not a consumer step')
    return parent


def consumer_of(step: Step, parent: WorkController | Consumer) -> Consumer:
    """``parent`` of the consumer step ``step``."""
    from celery.worker.worker import WorkController
    if isinstance(parent, WorkController):
        raise ImproperlyConfigured(f'{step!r} is a consumer step, not a worker step')
    return parent


def app_steps(app: Celery, blueprint: str) -> list[type[Step] | str]:
    """The steps ``app.steps[blueprint]`` adds (classes, or ``'module:Class'`` names)."""
    from celery.bootsteps import Step
    steps: list[type[Step] | str] = []
    for step in (app.steps or {}).get(blueprint, ()):
        if not (isinstance(step, str) or (isinstance(step, type) and issubclass(step, Step))):
            raise ImproperlyConfigured(f'app.steps[{blueprint!r}] holds {step!r}: not a bootstep')
        steps.append(step)
    return steps

"""Registry of available tasks."""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from celery._state import get_current_app
from celery.exceptions import InvalidTaskError, NotRegistered

if TYPE_CHECKING:
    from celery.app.task import Task

__all__ = ('TaskRegistry',)


class TaskRegistry(dict[str, 'Task']):
    """Map of registered tasks: task name -> task instance."""

    NotRegistered = NotRegistered

    def __missing__(self, key: str) -> Task:
        raise self.NotRegistered(key)

    def register(self, task: Task | type[Task]) -> None:
        """Register a task in the task registry.

        The task will be automatically instantiated if not already an
        instance.  Name must be configured prior to registration.
        """
        if task.name is None:
            raise InvalidTaskError(
                f'Task class {type(task).__name__!r} must specify .name attribute')
        instance = task() if isinstance(task, type) else task
        add_autoretry_behaviour(instance)
        self[instance.name or ''] = instance

    def unregister(self, name: str | Task) -> None:
        """Unregister task by name."""
        try:
            self.pop(name if isinstance(name, str) else name.name or '')
        except KeyError:
            raise self.NotRegistered(name) from None

    def regular(self) -> dict[str, Task]:
        """Return the regular (non-periodic) tasks."""
        return self.filter_types('regular')

    def periodic(self) -> dict[str, Task]:
        """Return the periodic tasks."""
        return self.filter_types('periodic')

    def filter_types(self, type: str) -> dict[str, Task]:
        """Return tasks whose ``type`` attribute equals ``type``."""
        return {name: task for name, task in self.items()
                if getattr(task, 'type', 'regular') == type}


def add_autoretry_behaviour(task: Task, **options: Any) -> None:
    """Wrap ``task.run`` to implement ``autoretry_for`` (see :mod:`celery.app.autoretry`)."""
    from celery.app.autoretry import add_autoretry_behaviour as add
    add(task, **options)


def _unpickle_task(name: str) -> Task:
    return get_current_app().tasks[name]


def _unpickle_task_v2(name: str, module: str | None = None) -> Task:
    if module:
        import_module(module)
    return get_current_app().tasks[name]

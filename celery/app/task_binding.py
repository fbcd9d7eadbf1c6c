"""Binding task classes to an app: options from its configuration, annotations."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery._state import get_current_app

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.utils.threads import LocalStack as ThreadLocalStack

__all__ = ('FROM_CONFIG', 'TaskBinding')

#: Task attributes that take their default from the configuration on bind.
FROM_CONFIG = (
    ('serializer', 'task_serializer'),
    ('rate_limit', 'task_default_rate_limit'),
    ('priority', 'task_default_priority'),
    ('track_started', 'task_track_started'),
    ('acks_late', 'task_acks_late'),
    ('acks_on_failure_or_timeout', 'task_acks_on_failure_or_timeout'),
    ('acks_on_failure', 'task_acks_on_failure'),
    ('acks_on_timeout', 'task_acks_on_timeout'),
    ('reject_on_worker_lost', 'task_reject_on_worker_lost'),
    ('ignore_result', 'task_ignore_result'),
    ('store_eager_result', 'task_store_eager_result'),
    ('store_errors_even_if_ignored', 'task_store_errors_even_if_ignored'),
    ('time_limit', 'task_time_limit'),
    ('soft_time_limit', 'task_soft_time_limit'),
    ('retry_on_worker_lost', 'task_retry_on_worker_lost'),
)


class TaskBinding:
    """Mixin of :class:`~celery.app.task.Task` binding the task class to its app."""

    #: (attribute, setting) pairs: unset attributes take the setting's value on :meth:`bind`.
    from_config: tuple[tuple[str, str], ...] = FROM_CONFIG

    #: The app this task class is bound to (see :meth:`bind`).
    _app: Celery | None = None

    __bound__ = False

    # Given by :class:`~celery.app.task.Task`.
    typing: bool | None
    request_stack: ThreadLocalStack | None
    _exec_options: dict[str, object] | None

    @classmethod
    def bind(cls, app: Celery) -> Celery:
        """Bind this task class to ``app``, filling unset attributes from its configuration."""
        first_binding = not cls.__bound__
        cls.__bound__, cls._app = True, app
        cls._exec_options = None  # they are read from the attributes set below
        if cls.typing is None:
            cls.typing = app.strict_typing
        unset = [(attr, setting) for attr, setting in cls.from_config
                 if getattr(cls, attr, None) is None]
        for attr, setting in unset:
            setattr(cls, attr, app.conf[setting])
        if first_binding:
            # Annotations wrap methods: applying them twice would wrap twice.
            cls.annotate()
            from celery.utils.threads import LocalStack as ThreadLocalStack
            cls.request_stack = ThreadLocalStack()
        cls.on_bound(app)
        return app

    @classmethod
    def on_bound(cls, app: Celery) -> None:
        """Hook for subclasses: runs at the end of every :meth:`bind`."""

    @classmethod
    def _get_app(cls) -> Celery:
        if cls._app is None:
            cls._app = get_current_app()
        if not cls.__bound__:
            # Tasks defined with a class-level `app` are bound on first use.
            cls.bind(cls._app)
        return cls._app

    @classmethod
    def _set_app(cls, app: Celery) -> None:
        cls.bind(app)

    @property
    def app(self) -> Celery:
        """The app this task belongs to."""
        return self._get_app()

    @classmethod
    def annotate(cls) -> None:
        """Apply :setting:`task_annotations` matching this task."""
        from celery.app.annotations import resolve_all
        for annotation in resolve_all(cls._get_app().annotations, cls):
            for name, value in annotation.items():
                # ``'@method'`` wraps that method; any other key sets an attribute.
                if name.startswith('@'):
                    if not callable(value):
                        raise TypeError(f'Task annotation {name!r} must be callable: {value!r}')
                    cls.add_around(name[1:], value)
                else:
                    setattr(cls, name, value)

    @classmethod
    def add_around(cls, attr: str, around: Callable[..., Any]) -> None:
        """Replace method ``attr`` by ``around(method)``; rebinding wraps the original again."""
        method = getattr(cls, attr)
        original = getattr(method, '__wrapped__', None) or method
        wrapped = around(original)
        wrapped.__wrapped__ = original
        setattr(cls, attr, wrapped)

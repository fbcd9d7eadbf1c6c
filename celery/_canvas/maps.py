"""``xmap``, ``xstarmap`` and ``chunks``: one task applied to every item of a list."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from celery._canvas.group import group
from celery._canvas.signature import Signature
from celery.utils.functional import chunks as split_into_chunks
from celery.utils.text import truncate

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.result import AsyncResult, GroupResult

__all__ = ('xmap', 'xstarmap', 'chunks')


def _task_name(task: Any) -> str | None:
    return task.get('task') if isinstance(task, dict) else getattr(task, 'name', task)


class _basemap(Signature):
    """A single message that calls ``task`` once per item of ``it``."""

    _task_name: str = ''

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], app: Celery | None = None) -> _basemap:
        """Rebuild from the dict form."""
        return cls(d['kwargs']['task'], d['kwargs']['it'], app=app, **d['options'])

    def __init__(self, task: Any, it: Any, **options: Any) -> None:
        super().__init__(self._task_name, (), {'task': task, 'it': list(it)},
                         immutable=True, **options)
        self.subtask_type = type(self).__name__

    def apply_async(self, args: Sequence[Any] | None = None,
                    kwargs: Mapping[str, Any] | None = None, route_name: str | None = None,
                    **opts: Any) -> AsyncResult[Any]:
        """Send the whole list in one ``celery.map``/``celery.starmap`` message."""
        task, it = self.kwargs['task'], self.kwargs['it']
        _, _, opts = self._merge(None, None, opts)
        opts = {'route_name': route_name or _task_name(task), **opts}
        result: AsyncResult[Any] = self.type.apply_async(
            (), {'task': task, 'it': list(it)}, **opts)
        return result


@Signature.register_type()
class xmap(_basemap):
    """Map: ``[task(item) for item in it]`` in one message."""

    _task_name = 'celery.map'

    def __repr__(self) -> str:
        task, it = self.kwargs['task'], self.kwargs['it']
        return f'[{_task_name(task)}(x) for x in {truncate(repr(it), 100)}]'


@Signature.register_type()
class xstarmap(_basemap):
    """Starmap: ``[task(*item) for item in it]`` in one message."""

    _task_name = 'celery.starmap'

    def __repr__(self) -> str:
        task, it = self.kwargs['task'], self.kwargs['it']
        return f'[{_task_name(task)}(*x) for x in {truncate(repr(it), 100)}]'


@Signature.register_type()
class chunks(Signature):
    """Split ``it`` into parts of ``n`` items, each part a ``celery.starmap`` message."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], app: Celery | None = None) -> chunks:
        """Rebuild from the dict form."""
        kw = d['kwargs']
        return cls(kw['task'], kw['it'], kw['n'], app=app, **d['options'])

    def __init__(self, task: Any, it: Any, n: int, **options: Any) -> None:
        super().__init__('celery.chunks', (), {'task': task, 'it': list(it), 'n': n},
                         immutable=True, **options)
        self.subtask_type = 'chunks'

    def __call__(self, **options: Any) -> GroupResult:
        return self.apply_async(**options)

    # A GroupResult, not an AsyncResult: one result per chunk (as in Celery).
    def apply_async(self, args: Sequence[Any] | None = None,  # type: ignore[override]
                    kwargs: Mapping[str, Any] | None = None, **opts: Any) -> GroupResult:
        """Send one starmap message per chunk, as a group."""
        # A route_name given in ``opts`` wins (taken out: passed twice it raised TypeError).
        route_name = opts.pop('route_name', None) or _task_name(self.kwargs['task'])
        result: GroupResult = self.group().apply_async(
            args, kwargs, route_name=route_name, **opts)
        return result

    def group(self) -> group:
        """The group of ``celery.starmap`` signatures, one per chunk."""
        task, it, n = self.kwargs['task'], self.kwargs['it'], self.kwargs['n']
        return group([xstarmap(task, part, app=self._app)
                      for part in split_into_chunks(iter(it), n)], app=self._app)

    @classmethod
    def apply_chunks(cls, task: Any, it: Any, n: int, app: Celery | None = None) -> GroupResult:
        """Build and apply the chunks (what the ``celery.chunks`` task does)."""
        return cls(task, it, n, app=app)()

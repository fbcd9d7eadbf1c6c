"""The requests a task is executing: a per-thread stack whose top is ``task.request``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from celery.app.context import Context

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.result import ResultBase
    from celery.utils.threads import LocalStack as ThreadLocalStack

__all__ = ('TaskRequests',)

_Result = TypeVar('_Result', bound='ResultBase')


class TaskRequests:
    """Mixin of :class:`~celery.app.task.Task` keeping the requests it executes."""

    #: Per-thread stack of requests being executed; :attr:`request` is its top.
    request_stack: ThreadLocalStack | None = None

    _default_request: Context | None = None

    # Given by :class:`~celery.app.task.Task`.
    trail: bool

    if TYPE_CHECKING:
        @classmethod
        def _get_app(cls) -> Celery: ...

    @property
    def request(self) -> Context:
        """The request this thread is executing; an empty one outside execution."""
        current: Context | None = self._requests().top
        if current is not None:
            return current
        if self._default_request is None:
            self._default_request = Context()
        return self._default_request

    def push_request(self, *args: Any, **kwargs: Any) -> None:
        """Make a new request (built from the arguments) the current one."""
        self._requests().push(Context(*args, **kwargs))

    def pop_request(self) -> None:
        """Drop the current request; the previous one is current again."""
        self._requests().pop()

    def _requests(self) -> ThreadLocalStack:
        stack = self.request_stack
        if stack is None:
            # Not bound yet: binding (to the current app) makes the stack.
            self._get_app()
            stack = self.request_stack
            if stack is None:
                raise RuntimeError(f'{self!r}: binding made no request stack')
        return stack

    def add_trail(self, result: _Result) -> _Result:
        """Remember ``result`` as a child of the current request (when ``trail`` is set)."""
        if self.trail:
            self.request.children.append(result)
        return result

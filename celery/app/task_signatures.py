"""Signatures and workflows made from a task: ``s``, ``si``, ``chunks``, ``replace``..."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.context import Context
    from celery.backends.base import Backend
    from celery.canvas import Signature, chunks, xmap, xstarmap
    from celery.result import AsyncResult

__all__ = ('TaskSignatures',)


class TaskSignatures:
    """Mixin of :class:`~celery.app.task.Task` building signatures of the task."""

    name: str | None
    ignore_result: bool | None

    if TYPE_CHECKING:
        # Given by :class:`~celery.app.task.Task`.
        @property
        def app(self) -> Celery: ...

        @property
        def request(self) -> Context: ...

        @property
        def backend(self) -> Backend: ...

        def on_replace(self, sig: Signature[Any]) -> object: ...

    def signature_from_request(self, request: Context | None = None,
                               args: Sequence[object] | None = None,
                               kwargs: Mapping[str, object] | None = None,
                               queue: str | None = None,
                               **extra_options: Any) -> Signature[Any]:
        """Return a signature that re-sends ``request`` (used by retry)."""
        request = self.request if request is None else request
        delivery_info = request.delivery_info or {}
        options = {**request.as_execution_options(), **extra_options,
                   **_same_route(delivery_info, queue)}
        options['headers'] = _without_death_headers(options.get('headers'))
        if 'ignore_result' not in options:
            ignore_result = vars(request).get('ignore_result')
            options['ignore_result'] = (self.ignore_result if ignore_result is None
                                        else ignore_result)
        if delivery_info.get('priority') is not None:
            options['priority'] = delivery_info['priority']
        return self.signature(request.args if args is None else args,
                              request.kwargs if kwargs is None else kwargs,
                              options, type=self, **extra_options)

    subtask_from_request = signature_from_request

    def signature(self, args: Sequence[object] | None = None, *starargs: Any,
                  **starkwargs: Any) -> Signature[Any]:
        """A signature of this task with these arguments and options."""
        starkwargs.setdefault('app', self.app)
        from celery.canvas import signature
        return signature(self, args, *starargs, **starkwargs)

    subtask = signature

    def s(self, *args: Any, **kwargs: Any) -> Signature[Any]:
        """A signature of this task from star arguments: ``add.s(2, 2)``."""
        return self.signature(args, kwargs)

    def si(self, *args: Any, **kwargs: Any) -> Signature[Any]:
        """Like :meth:`s`, but a parent's result is not prepended to the arguments."""
        return self.signature(args, kwargs, immutable=True)

    def chunks(self, it: Iterable[Sequence[object]], n: int) -> chunks:
        """Split the argument tuples ``it`` into chunks of ``n``, each chunk one task."""
        from celery.canvas import chunks
        return chunks(self.s(), it, n, app=self.app)

    def map(self, it: Iterable[object]) -> xmap:
        """One task calling this task with each item of ``it``."""
        from celery.canvas import xmap
        return xmap(self.s(), it, app=self.app)

    def starmap(self, it: Iterable[Sequence[object]]) -> xstarmap:
        """One task calling this task with each argument tuple of ``it``."""
        from celery.canvas import xstarmap
        return xstarmap(self.s(), it, app=self.app)

    def replace(self, sig: Signature[Any]) -> object:
        """Let ``sig`` finish this task's work under its id (see :mod:`celery.app.replace`)."""
        from celery.app.replace import replace_task
        return replace_task(self, sig)

    def add_to_chord(self, sig: Signature[Any],
                     lazy: bool = False) -> Signature[Any] | AsyncResult[Any]:
        """Make ``sig`` one more member of the chord this task belongs to."""
        request = self.request
        if not request.chord or request.group is None:
            raise ValueError('Current task is not member of any chord')
        # The new member joins this task's group, so the chord waits for it too.
        sig.set(group_id=request.group, group_index=request.group_index,
                chord=request.chord, root_id=request.root_id)
        self.backend.add_to_chord(request.group, sig.freeze())
        return sig if lazy else sig.delay()


def _same_route(delivery_info: Mapping[str, object], queue: str | None) -> dict[str, object]:
    # Routing options that send a copy where the original message went.
    if queue:
        return {'queue': queue}
    exchange, routing_key = delivery_info.get('exchange'), delivery_info.get('routing_key')
    if exchange == '' and routing_key:
        # Sent through the default exchange: the routing key names the queue.
        return {'queue': routing_key}
    return {'exchange': exchange, 'routing_key': routing_key}


#: Headers RabbitMQ adds to a message it dead-letters (and reads to detect cycles).
X_DEATH_HEADERS: set[str] = {
    'x-death',
    'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason',
    'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason',
}


def _is_death_header(name: str) -> bool:
    return name in X_DEATH_HEADERS


def _without_death_headers(headers: Mapping[str, object] | None
                           ) -> Mapping[str, object] | None:
    # RabbitMQ adds these when it dead-letters a message and reads them to
    # detect dead-letter cycles: a re-sent copy is a new message, not a cycle.
    if not headers or not any(map(_is_death_header, headers)):
        return headers
    return {name: value for name, value in headers.items() if not _is_death_header(name)}

"""Signatures and workflows made from a task: ``s``, ``si``, ``chunks``, ``replace``..."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.app.context import Context
    from celery.canvas import Signature

__all__ = ('TaskSignatures',)


class TaskSignatures:
    """Mixin of :class:`~celery.app.task.Task` building signatures of the task."""

    app: Any
    name: str | None
    request: Any
    backend: Any

    def signature_from_request(self, request: Context | None = None, args: Any = None,
                               kwargs: Any = None, queue: str | None = None,
                               **extra_options: Any) -> Signature:
        """Return a signature that re-sends ``request`` (used by retry)."""
        request = self.request if request is None else request
        args = request.args if args is None else args
        kwargs = request.kwargs if kwargs is None else kwargs
        options = {**request.as_execution_options(), **extra_options}
        delivery_info = request.delivery_info or {}
        priority = delivery_info.get('priority')
        if priority is not None:
            options['priority'] = priority
        if queue:
            options['queue'] = queue
        else:
            exchange = delivery_info.get('exchange')
            routing_key = delivery_info.get('routing_key')
            if exchange == '' and routing_key:
                # Sent through the default exchange: the routing key is the queue.
                options['queue'] = routing_key
            else:
                options.update(exchange=exchange, routing_key=routing_key)
        return self.signature(args, kwargs, options, type=self, **extra_options)

    subtask_from_request = signature_from_request

    def signature(self, args: Any = None, *starargs: Any, **starkwargs: Any) -> Signature:
        """Create signature."""
        starkwargs.setdefault('app', self.app)
        from celery.canvas import signature
        return signature(self, args, *starargs, **starkwargs)

    subtask = signature

    def s(self, *args: Any, **kwargs: Any) -> Signature:
        """Create signature: ``.s(*a, **k) -> .signature(a, k)``."""
        return self.signature(args, kwargs)

    def si(self, *args: Any, **kwargs: Any) -> Signature:
        """Create immutable signature: ``.si(*a, **k) -> .signature(a, k, immutable=True)``."""
        return self.signature(args, kwargs, immutable=True)

    def chunks(self, it: Any, n: int) -> Any:
        """Create a :class:`~celery.canvas.chunks` task for this task."""
        from celery.canvas import chunks
        return chunks(self.s(), it, n, app=self.app)

    def map(self, it: Any) -> Any:
        """Create a :class:`~celery.canvas.xmap` task from ``it``."""
        from celery.canvas import xmap
        return xmap(self.s(), it, app=self.app)

    def starmap(self, it: Any) -> Any:
        """Create a :class:`~celery.canvas.xstarmap` task from ``it``."""
        from celery.canvas import xstarmap
        return xstarmap(self.s(), it, app=self.app)

    def replace(self, sig: Any) -> Any:
        """Replace this task with a new task inheriting the task id (see :mod:`celery.app.replace`)."""
        from celery.app.replace import replace_task
        return replace_task(self, sig)

    def add_to_chord(self, sig: Any, lazy: bool = False) -> Any:
        """Add signature to the chord the current task is a member of."""
        if not self.request.chord:
            raise ValueError('Current task is not member of any chord')
        sig.set(
            group_id=self.request.group,
            group_index=self.request.group_index,
            chord=self.request.chord,
            root_id=self.request.root_id,
        )
        result = sig.freeze()
        self.backend.add_to_chord(self.request.group, result)
        return sig.delay() if not lazy else sig


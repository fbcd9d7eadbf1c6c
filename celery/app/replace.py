"""``Task.replace``: hand the rest of a task's work to another signature."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery.exceptions import Ignore, ImproperlyConfigured
from celery.utils.functional import maybe_list

if TYPE_CHECKING:
    from celery.app.task_signatures import TaskSignatures
    from celery.canvas import Signature

__all__ = ('replace_task', 'stamp_replacement')


def replace_task(task: TaskSignatures, sig: Signature[Any]) -> object:
    """Replace ``task``'s current request with ``sig``, which inherits its id and position.

    Callbacks, errbacks, the rest of the chain and chord membership move to
    the replacement, so the workflow continues as if the task had returned
    the replacement's result.  Raises :exc:`~celery.exceptions.Ignore` in a
    worker (the original task records no result of its own).
    """
    from celery.canvas import _chain, group, signature
    request = task.request
    if 'chord' in sig.options:
        raise ImproperlyConfigured('A signature replacing a task must not be part of a chord')
    if isinstance(sig, _chain) and not sig.tasks:
        raise ImproperlyConfigured('Cannot replace with an empty chain')
    accumulate = task.app.tasks['celery.accumulate']
    # A group, alone or ending a chain, is uplifted to a chord so that the
    # callbacks have one place to hang on.
    if isinstance(sig, group):
        sig |= accumulate.s(index=0)
    elif isinstance(sig, _chain) and isinstance(sig.tasks[-1], group):
        sig.tasks = [*sig.tasks[:-1], sig.tasks[-1] | accumulate.s(index=0)]
    for callback in maybe_list(request.callbacks) or []:
        sig.link(callback)
    for errback in maybe_list(request.errbacks) or []:
        sig.link_error(errback)
    if isinstance(sig, _chain) and 'link' in sig.options:
        # A chain's callbacks belong to its last step.
        sig.tasks[-1].extend_list_option('link', sig.options.pop('link'))
    # Same id as the replaced task: results already handed out stay valid.
    sig.freeze(request.id)
    nesting = (request.replaced_task_nesting or 0) + 1
    sig.set(chord=request.chord, group_id=request.group, group_index=request.group_index,
            root_id=request.root_id, replaced_task_nesting=nesting)
    for step in reversed(request.chain or ()):
        next_step = signature(step, app=task.app)
        next_step.set(replaced_task_nesting=nesting)
        sig |= next_step
    return task.on_replace(sig)


def stamp_replacement(task: TaskSignatures, sig: Signature[Any]) -> object:
    """Copy the replaced request's stamps onto ``sig`` and apply it (eagerly or by message)."""
    request = task.request
    if request.stamps:
        stamps: dict[str, Any] = {name: request.stamps.get(name)
                                  for name in request.stamped_headers or ()}
        sig.stamp(**stamps)
    if request.is_eager:
        return sig.apply().get()
    sig.delay()
    raise Ignore('Replaced by new task')

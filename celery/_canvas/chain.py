"""``chain``: call tasks one after another, each getting the previous result."""
from __future__ import annotations

import operator
from collections import deque
from functools import reduce
from typing import TYPE_CHECKING, Any

from celery._canvas.group import give_own_id, group, is_empty_group, maybe_unroll_group
from celery._canvas.members import CompositeSignature
from celery._canvas.signature import Signature, maybe_signature
from celery.utils.functional import is_list, maybe_list

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.result import AsyncResult

__all__ = ('chain', '_chain')


@Signature.register_type(name='chain')
class _chain(CompositeSignature):
    """A chain of signatures: the result of each is the first argument of the next."""

    tasks = property(lambda self: self.kwargs['tasks'],
                     lambda self, value: self.kwargs.__setitem__('tasks', value),
                     doc='Tasks in chain.')

    @classmethod
    def from_dict(cls, d: dict[str, Any], app: Celery | None = None) -> _chain:
        """Rebuild a chain (and its steps) from its dict form."""
        tasks = [maybe_signature(task, app=app) for task in d['kwargs']['tasks'] or ()]
        sig = cls(tasks, app=app, **d['options'])
        sig['args'] = tuple(d.get('args') or ())
        sig['immutable'] = d.get('immutable', False)
        return sig

    def __init__(self, *tasks: Any, **options: Any) -> None:
        if len(tasks) == 1 and is_list(tasks[0]):
            tasks = tasks[0]
        tasks = list(tasks)
        self._use_link = options.pop('use_link', None)
        super().__init__('celery.chain', (), {'tasks': tasks}, **options)
        self.subtask_type = 'chain'
        self._frozen: tuple[list, list] | None = None

    # -- composition -----------------------------------------------------------

    def __or__(self, other: Any) -> Any:
        from celery._canvas.chord import _chord
        if is_empty_group(other):
            # An empty group adds no step: results flow on to the next real task.
            return self.clone()
        if isinstance(other, group):
            other = maybe_unroll_group(other)
            if not isinstance(other, group):
                return self.__or__(other)
            tasks = self.unchain_tasks()
            if not tasks:
                return other
            if isinstance(tasks[-1], _chord):
                # chain ending in a chord | group: the group follows the chord body.
                tasks[-1].body = tasks[-1].body | other
                return type(self)(tasks, app=self._app)
            return type(self)([*tasks, other], app=self._app)
        if isinstance(other, _chain):
            return reduce(operator.or_, other.unchain_tasks(), self)
        if isinstance(other, Signature):
            if self.tasks and isinstance(self.tasks[-1], group):
                # chain ending in a group | task -> that group becomes a chord.
                sig = self.clone()
                sig.tasks[-1] = _chord(sig.tasks[-1], other, app=self._app)
                if len(sig.tasks) > 1 and isinstance(sig.tasks[-2], _chord):
                    # Two chords in a row: the second joins the first one's body.
                    sig.tasks[-2].body = sig.tasks[-2].body | sig.tasks[-1]
                    sig.tasks = sig.tasks[:-1]
                return sig
            if self.tasks and isinstance(self.tasks[-1], _chord):
                sig = self.clone()
                sig.tasks[-1].body = sig.tasks[-1].body | other
                return sig
            return type(self)([*self.unchain_tasks(), other], app=self._app)
        return NotImplemented

    def unchain_tasks(self) -> list[Signature]:
        """Copies of the steps, with the chain's links and errbacks moved onto them."""
        tasks = [maybe_signature(t, app=self._app).clone() for t in self.tasks]
        for callback in maybe_list(self.options.get('link')) or []:
            tasks[-1].link(callback)
        for errback in maybe_list(self.options.get('link_error')) or []:
            for task in tasks:
                task.link_error(errback)
        return tasks

    def clone(self, *args: Any, **kwargs: Any) -> _chain:
        """Copy the chain; steps are copied too so the copy can be changed freely."""
        sig = super().clone(*args, **kwargs)
        sig._use_link = self._use_link
        return sig

    def _copy_nested(self, clone: Signature, memo: dict[int, Any]) -> None:
        clone.tasks = [maybe_signature(t, app=self._app).clone() for t in clone.tasks]

    # -- calling ---------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> AsyncResult | None:
        if self.tasks:
            return self.apply_async(args, kwargs)
        return None

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> AsyncResult:
        """Send the first step; the rest travel in its message's ``chain`` field."""
        app = self.app
        if app.conf.task_always_eager:
            from celery.result import allow_join_result
            with allow_join_result():
                return self.apply(args, kwargs, **options)
        return self.run(args, kwargs, app=app,
                        **(dict(self.options, **options) if options else self.options))

    def run(self, args: Any = None, kwargs: Any = None, group_id: str | None = None,
            chord: Any = None, task_id: str | None = None, link: Any = None,
            link_error: Any = None, publisher: Any = None, producer: Any = None,
            root_id: str | None = None, parent_id: str | None = None, app: Celery | None = None,
            group_index: int | None = None, **options: Any) -> AsyncResult | None:
        """Prepare the steps and send the first one."""
        args = args or ()
        kwargs = kwargs or {}
        app = app or self.app
        use_link = self._use_link
        if use_link is None and app.conf.task_protocol == 1:
            use_link = True
        args = tuple(args) + tuple(self.args) if args and not self.immutable else self.args
        tasks, results = self.prepare_steps(
            args, kwargs, self.tasks, root_id, parent_id, link_error, app,
            task_id, group_id, chord, group_index=group_index)
        if not results:
            return None
        if link:
            tasks[0].extend_list_option('link', link)
        first_task = tasks.pop()
        remaining = tasks if not use_link else None
        if options.get('chain'):
            # Already inside a chain (e.g. a chord body): run our steps before the rest.
            remaining = [*options.pop('chain'), *(remaining or ())]
        options['chain'] = remaining
        result = first_task.apply_async(producer=producer or publisher, **options)
        return result if not tasks else results[0]

    def freeze(self, _id: str | None = None, group_id: str | None = None, chord: Any = None,
               root_id: str | None = None, parent_id: str | None = None,
               group_index: int | None = None) -> AsyncResult:
        """Give every step an id; returns the last step's result (parents link back)."""
        _, results = self._frozen = self.prepare_steps(
            (), {}, self.tasks, root_id, parent_id, None, self.app, _id, group_id, chord,
            clone=False, group_index=group_index)
        return results[0]

    _freeze = freeze

    def prepare_steps(self, args: Any, kwargs: Any, tasks: Any, root_id: str | None = None,
                      parent_id: str | None = None, link_error: Any = None,
                      app: Celery | None = None,
                      last_task_id: str | None = None, group_id: str | None = None,
                      chord_body: Any = None, clone: bool = True,
                      group_index: int | None = None) -> tuple[list[Signature], list[Any]]:
        """Flatten, clone and freeze the steps; both lists are returned last step first."""
        from celery._canvas.chord import _chord
        app = app or self.app
        use_link = self._use_link
        if use_link is None and app.conf.task_protocol == 1:
            use_link = True
        # Empty groups (e.g. from a chain rebuilt from JSON) are skipped, so the
        # first real step is the one that gets the chain's arguments.
        steps = deque(t for t in tasks if not is_empty_group(t))
        prev_task = prev_res = None
        tasks, results = [], []
        i = 0
        # Walk backwards: the last step is frozen first so each result can
        # point to its parent (the step before it).
        while steps:
            task = maybe_signature(steps.pop(), app=app)
            is_first_task, is_last_task = not steps, not i
            if isinstance(task, group):
                task = maybe_unroll_group(task)
            if clone:
                task = task.clone(args, kwargs) if is_first_task else task.clone()
            elif is_first_task and args:
                task.args = tuple(args) + tuple(task.args)
            if isinstance(task, _chain):
                inner = task.unchain_tasks() if task.options else task.tasks
                steps.extend(t for t in inner if not is_empty_group(t))
                continue
            if isinstance(task, group) and prev_task:
                # group followed by a task: upgrade to chord(group, task).
                tasks.pop()
                results.pop()
                task = _chord(task, body=prev_task, root_id=root_id, app=app)
                prev_task, prev_res = (tasks[-1], results[-1]) if tasks else (None, None)
            if is_last_task:
                if group_id:
                    give_own_id(task, last_task_id)
                res = task.freeze(last_task_id, root_id=root_id, group_id=group_id,
                                  chord=chord_body, group_index=group_index)
            else:
                res = task.freeze(root_id=root_id)
            i += 1
            if prev_task:
                if use_link:
                    task.link(prev_task)
                if prev_res is not None and not prev_res.parent:
                    prev_res.parent = res
            for errback in maybe_list(link_error) or []:
                task.link_error(errback)
            tasks.append(task)
            results.append(res)
            prev_task, prev_res = task, res
            if isinstance(task, _chord):
                app.backend.ensure_chords_allowed()
                # The step before a chord hands its result to the chord's header.
                while prev_res.parent is not None:
                    prev_res = prev_res.parent
        return tasks, results

    def apply(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Run every step eagerly, feeding each result to the next."""
        args, kwargs = args or (), kwargs or {}
        last, fargs, fkwargs = None, args, kwargs
        for task in self.tasks:
            task = maybe_signature(task, app=self._app)
            res = task.clone(fargs, fkwargs).apply(
                (last.get(),) if last is not None else None, **dict(self.options, **options))
            res.parent, last, fargs, fkwargs = last, res, None, None
        return last

    # -- stamping, sizing ------------------------------------------------------

    def stamp(self, visitor: Any = None, append_stamps: bool = False, **headers: Any) -> None:
        """Stamp every step (and their links) through ``visitor``."""
        visitor_headers = visitor.on_chain_start(self, **headers) if visitor else None
        headers = self._stamp_members(visitor, append_stamps, visitor_headers, headers)
        if visitor is not None:
            visitor.on_chain_end(self, **headers)

    def _chord_member_count(self) -> int:
        # Only the last step reporting anything counts.
        for task in reversed(self.tasks):
            size = maybe_signature(task, app=self._app)._chord_member_count()
            if size > 0:
                return size
        return 0

    def __repr__(self) -> str:
        if not self.tasks:
            return f'<{type(self).__name__}@{id(self):#x}: empty>'
        return ' | '.join(repr(t) for t in self.tasks)


class chain(_chain):
    """Chain tasks together: ``chain(a.s(), b.s())`` is the same as ``a.s() | b.s()``.

    Building it applies the composition rules of ``|``: nested chains are
    flattened, a group followed by a task becomes a chord, and so on.
    """

    def __new__(cls, *tasks: Any, **kwargs: Any) -> Any:
        if not kwargs and tasks and (len(tasks) != 1 or is_list(tasks[0])):
            tasks = tasks[0] if len(tasks) == 1 else tasks
            # The result is a _chain (or a chord/group), so __init__ is not re-run.
            return reduce(operator.or_, tasks, _chain())
        return super().__new__(cls)

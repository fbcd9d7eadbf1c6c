"""``group``: apply a list of signatures in parallel."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableSequence
from typing import TYPE_CHECKING, Any

from celery._canvas.members import CompositeSignature
from celery._canvas.signature import Signature, maybe_signature, place_in_workflow, signature
from celery._state import get_current_worker_task
from celery.app.bulk import BulkSender, pipelined
from celery.utils import uuid
from celery.utils.functional import lookahead
from celery.utils.text import truncate

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.result import GroupResult

__all__ = ('group', 'maybe_unroll_group', 'as_header_tasks', 'is_empty_group', 'give_own_id')


def give_own_id(sig: Any, _id: str | None = None) -> None:
    """Pin a group's own id before it is frozen into an enclosing group or chord.

    A group ending a chain (or a chord body) inside another group is a
    group of its own: it must not take the enclosing group's id, whose
    size a chord may be counting.
    """
    if isinstance(sig, group) and 'task_id' not in sig.options:
        sig.options['task_id'] = _id or uuid()


def is_empty_group(sig: Any) -> bool:
    """Whether ``sig`` is a group without members (a step workflows skip)."""
    if isinstance(sig, dict) and not isinstance(sig, Signature):
        if sig.get('subtask_type') != 'group':
            return False
        return not (sig.get('kwargs') or {}).get('tasks')
    return isinstance(sig, group) and not sig.tasks


def maybe_unroll_group(group: group) -> Any:  # noqa: F811 - Celery's parameter name
    """A group of one member is that member; anything else is returned as is."""
    try:
        size = len(group.tasks)
    except TypeError:
        return group
    return group.tasks[0] if size == 1 else group


def as_header_tasks(tasks: Any, app: Any) -> Any:
    """Normalize a chord header (group, chain, signature, dicts, generator) to its task list."""
    from celery._canvas.chain import _chain
    if isinstance(tasks, dict) and not isinstance(tasks, Signature):
        tasks = signature(tasks, app=app)
    if isinstance(tasks, group) and tasks.options:
        # Frozen (its members already report to this group id) or given
        # options (a countdown for every member, ...): keep it as it is.
        return tasks
    if isinstance(tasks, (group, _chain)):
        return list(tasks.tasks)
    if isinstance(tasks, Signature):
        return [tasks]
    return [signature(t, app=app) for t in tasks]


@Signature.register_type()
class group(CompositeSignature):
    """Signatures sent together, to run side by side.

    Calling it sends every member; the result is a
    :class:`~celery.result.GroupResult` in the members' order.
    """

    tasks = property(lambda self: self.kwargs['tasks'],
                     lambda self, value: self.kwargs.__setitem__('tasks', value),
                     doc='Tasks in group.')

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], app: Celery | None = None) -> group:
        """Rebuild a group (and its member signatures) from its dict form."""
        tasks = [maybe_signature(task, app=app) for task in d['kwargs']['tasks']]
        sig = cls(tasks, app=app, **d['options'])
        sig['args'] = tuple(d.get('args') or ())
        sig['immutable'] = d.get('immutable', False)
        return sig

    def __init__(self, *tasks: Any, **options: Any) -> None:
        members: Iterable[Any] = tasks
        if len(tasks) == 1:
            members = tasks[0]
            if isinstance(members, group):
                members = members.tasks
            if isinstance(members, Signature):
                members = [members.clone()]
        # Materialized: a lazily filled list would JSON-encode only the items
        # consumed so far, silently dropping members.
        super().__init__('celery.group', (), {'tasks': list(members)}, **options)
        self.subtask_type = 'group'

    # -- calling ---------------------------------------------------------------

    def __call__(self, *partial_args: Any, **options: Any) -> GroupResult:
        return self.apply_async(partial_args, **options)

    # Overrides below return a GroupResult where Signature's return an
    # AsyncResult: a group has one result per member (as in Celery).

    def apply_async(self, args: Any = None,  # type: ignore[override]
                    kwargs: Any = None, add_to_parent: bool = True,
                    producer: Any = None, link: Any = None, link_error: Any = None,
                    **options: Any) -> GroupResult:
        """Send every member (partial args are prepended to each); returns a GroupResult."""
        if link is not None:
            raise TypeError('Cannot add link to group: use a chord')
        if link_error is not None:
            raise TypeError('Cannot add link to group: do that on individual tasks')
        app = self.app
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, **options)
        if not self.tasks:
            return self.freeze()
        from vine import barrier
        options, group_id, root_id = self._freeze_gid(options)
        tasks = self._prepared(self.tasks, args, group_id, root_id)
        ready = barrier()
        results = list(self._apply_tasks(tasks, producer, app, ready, kwargs=kwargs, **options))
        result: GroupResult = app.GroupResult(group_id, results, ready_barrier=ready)
        ready.finalize()
        from celery.result import GroupResult as _GroupResult
        if len(result) == 1 and isinstance(result[0], _GroupResult):
            # group(a | group(b, c)): the inner group is the result.
            result = result[0]
        parent_task = get_current_worker_task()
        if add_to_parent and parent_task:
            parent_task.add_trail(result)
        return result

    def apply(self, args: Any = None, kwargs: Any = None,  # type: ignore[override]
              **options: Any) -> GroupResult:
        """Run every member eagerly, in order."""
        app = self.app
        if not self.tasks:
            return self.freeze()
        options, group_id, root_id = self._freeze_gid(options)
        tasks = self._prepared(self.tasks, args, group_id, root_id)
        result: GroupResult = app.GroupResult(group_id, [
            sig.apply(kwargs=kwargs, **options) for sig, _, _ in tasks
        ])
        return result

    def _freeze_gid(self, options: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
        # The task_id option is the group's id, not the members'.
        options = {**self.options, **{
            k: v for k, v in options.items()
            if k not in self._IMMUTABLE_OPTIONS or k not in self.options
        }}
        options['group_id'] = group_id = options.pop('task_id', None) or uuid()
        # An option of a group sent as a chord body, not one for its members.
        options.pop('add_to_parent', None)
        return options, group_id, options.get('root_id')

    def _prepared(self, tasks: Any, partial_args: Any, group_id: str,
                  root_id: str | None) -> Iterator[tuple[Signature, Any, str]]:
        """Yield ``(clone, frozen result, group_id)`` per member, nested groups flattened."""
        for index, task in enumerate(self._flatten(tasks)):
            task = task.clone()
            if partial_args and not task.immutable:
                task.args = tuple(partial_args) + tuple(task.args)
            yield task, task.freeze(group_id=group_id, root_id=root_id,
                                    group_index=index), group_id

    def _flatten(self, tasks: Any) -> Iterator[Signature]:
        for task in tasks:
            task = maybe_signature(task, app=self._app)
            if isinstance(task, group):
                yield from self._flatten(task.tasks)
            elif task.subtask_type != 'chain' or task.tasks:
                # An empty chain runs nothing and has no result: skip it.
                yield task

    def _apply_tasks(self, tasks: Any, producer: Any = None, app: Any = None, ready: Any = None,
                     chord: Any = None, kwargs: Any = None,
                     **options: Any) -> Iterator[Any]:
        """Send each prepared member; the chord size is recorded before the last one goes out."""
        app = app or self.app
        # One write per batch of members, not one per member.
        with app.producer_or_acquire(producer) as producer, pipelined(producer):
            sender = BulkSender(app, producer)
            chord_size = 0
            for (sig, res, group_id), next_task in lookahead(tasks):
                chord_obj = chord if chord is not None else sig.options.get('chord')
                chord_size += sig._chord_member_count()
                # A group inside a chord header reports to the chord's group,
                # whose size the chord itself has recorded.
                if chord_obj is not None and next_task is None and \
                        sig.options.get('group_id', group_id) == group_id:
                    app.backend.set_chord_size(group_id, chord_size)
                sender.send(sig, kwargs, add_to_parent=False, chord=chord_obj, **options)
                if ready is not None and not ready.cancelled and not ready.ready:
                    ready.size += 1
                    res.then(ready, weak=True)
                yield res

    # -- freezing --------------------------------------------------------------

    def freeze(self, _id: str | None = None,  # type: ignore[override]
               group_id: str | None = None, chord: Signature[Any] | None = None,
               root_id: str | None = None, parent_id: str | None = None,
               group_index: int | None = None) -> GroupResult:
        """Give the group and every member an id; returns the GroupResult they will fill."""
        result: GroupResult = self.app.GroupResult(*self._freeze_group_tasks(
            _id, group_id, chord, root_id, parent_id, group_index))
        return result

    _freeze = freeze  # type: ignore[assignment]

    def _freeze_group_tasks(self, _id: str | None = None, group_id: str | None = None,
                            chord: Any = None, root_id: str | None = None,
                            parent_id: str | None = None,
                            group_index: int | None = None) -> tuple[str, list[Any]]:
        """Pin the group's id and freeze every member; returns ``(group id, member results)``."""
        options = self.options
        if 'task_id' not in options:
            # Inside an outer group or chord we are known by the id it gave us
            # (unless given one of our own first: see ``give_own_id``).
            options['task_id'] = group_id or _id or uuid()
        place_in_workflow(options, group_id=group_id, chord=chord, group_index=group_index)
        # Inside a chord header the members report to the chord's group, the
        # one whose size the chord counts; elsewhere to our own.
        members_group = group_id if chord is not None and group_id else options['task_id']
        # Unlike a single signature, a group keeps the root and parent it already has.
        context = {'group_id': members_group, 'chord': chord,
                   'root_id': options.setdefault('root_id', root_id),
                   'parent_id': options.setdefault('parent_id', parent_id)}
        members = [task.clone() for task in self._flatten(self.tasks)]
        results = [member.freeze(group_index=index, **context)
                   for index, member in enumerate(members)]
        self._replace_members(members)
        return options['task_id'], results

    def _replace_members(self, members: list[Signature]) -> None:
        # A list is updated in place: a chord holding it sees the frozen copies too.
        if isinstance(self.tasks, MutableSequence) and not isinstance(self.tasks, tuple):
            self.tasks[:] = members
        else:
            self.tasks = members

    # -- links, composition ----------------------------------------------------

    # The callback goes to the first member, so it is a copy that is returned.
    def link(self, sig: Signature[Any]) -> Signature[Any]:  # type: ignore[override]
        """Link an (immutable copy of) callback to the first member only."""
        linked: Signature[Any] = self.tasks[0].link(sig.clone().set(immutable=True))
        return linked

    # One errback per member: their tuple is returned (as in Celery).
    def link_error(self, sig: Signature[Any]) -> tuple[Signature[Any], ...]:  # type: ignore[override]
        """Link an errback to every member (any of them may fail)."""
        sig = maybe_signature(sig, app=self._app)
        return tuple(task.link_error(sig.clone().set(immutable=True)) for task in self.tasks)

    def __or__(self, other: Any) -> Any:
        from celery._canvas.chord import chord
        if is_empty_group(other):
            # Nothing to run: the results flow on to whatever follows.
            return self.clone()
        # group | task -> chord
        return chord(self, body=other, app=self._app)

    def skew(self, start: float = 1.0, stop: float | None = None, step: float = 1.0) -> group:
        """Spread the members' countdowns: ``start``, ``start + step``, … (capped at ``stop``)."""
        countdown = start
        for task in self.tasks:
            task.set(countdown=countdown)
            if stop is None or countdown + step <= stop:
                countdown += step
        return self

    def stamp(self, visitor: Any = None, append_stamps: bool = False, **headers: Any) -> None:
        """Stamp every member (and their links) through ``visitor``."""
        visitor_headers = visitor.on_group_start(self, **headers) if visitor else None
        headers = self._stamp_members(visitor, append_stamps, visitor_headers, headers)
        if visitor is not None:
            visitor.on_group_end(self, **headers)

    def _chord_member_count(self) -> int:
        return sum(maybe_signature(t, app=self._app)._chord_member_count() for t in self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __repr__(self) -> str:
        return f'group({truncate(repr(self.tasks), 1024)})'

"""``chord``: a header group whose results are passed to a body when all are done."""
from __future__ import annotations

import warnings
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from celery._canvas.group import as_header_tasks, give_own_id, group
from celery._canvas.signature import Signature, maybe_signature
from celery.utils import uuid
from celery.utils.functional import maybe_list

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.result import AsyncResult

__all__ = ('chord', '_chord')


def _first_step_result(result: AsyncResult) -> AsyncResult:
    """Follow ``result``'s parents to the oldest one (a chain's first step)."""
    visited = {result.id}
    while result.parent is not None:
        result = result.parent
        if result.id in visited:
            # A cycle would walk forever: fail loudly instead.
            raise RuntimeError('Recursive result parents')
        visited.add(result.id)
    return result


def _body_options(options: dict[str, Any]) -> dict[str, Any]:
    """The chord's sending options that also apply to its body.

    The body's parent is the header task that completes the chord (it sends
    the body), not the chord's own parent.
    """
    return {k: v for k, v in options.items() if k not in ('parent_id', 'add_to_parent')}


@Signature.register_type(name='chord')
class _chord(Signature):
    """A group (the header) and a signature (the body) called once the group is done.

    The body gets the list of the header tasks' return values, in the
    header's order.
    """

    @classmethod
    def from_dict(cls, d: dict[str, Any], app: Celery | None = None) -> _chord:
        """Rebuild a chord from its dict form."""
        kwargs = dict(d['kwargs'])
        header, body = kwargs.pop('header', None), kwargs.pop('body', None)
        sig = cls(header, body, task=d.get('task', 'celery.chord'), args=d.get('args'),
                  kwargs=kwargs, app=app, **d.get('options') or {})
        sig['immutable'] = d.get('immutable', False)
        if d.get('chord_size') is not None:
            sig['chord_size'] = d['chord_size']
        return sig

    def __init__(self, header: Any, body: Any = None, task: str = 'celery.chord',
                 args: Any = None, kwargs: Any = None, app: Celery | None = None,
                 **options: Any) -> None:
        kwargs = dict(kwargs) if kwargs else {'kwargs': {}}
        kwargs.setdefault('kwargs', {})
        super().__init__(task, args or (), {
            **kwargs,
            'header': as_header_tasks(header, app),
            'body': maybe_signature(body, app=app),
        }, app=app, **options)
        self.subtask_type = 'chord'

    tasks = property(lambda self: self.kwargs['header'],
                     lambda self, value: self.kwargs.__setitem__('header', value),
                     doc='Tasks in the chord header.')
    body = property(lambda self: self.kwargs.get('body'),
                    lambda self, value: self.kwargs.__setitem__('body', value),
                    doc='Signature called with the header results.')

    # -- calling ---------------------------------------------------------------

    def __call__(self, body: Any = None, **options: Any) -> AsyncResult:
        return self.apply_async((), {'body': body} if body else {}, **options)

    def apply_async(self, args: Any = None, kwargs: Any = None, task_id: str | None = None,
                    producer: Any = None, publisher: Any = None, connection: Any = None,
                    router: Any = None, result_cls: Any = None, **options: Any) -> AsyncResult:
        """Send the header; the body follows when the header completes."""
        options = {k: v for k, v in options.items() if v is not None}
        args = args or ()
        kwargs = dict(kwargs or {})
        args = tuple(args) + tuple(self.args) if args and not self.immutable else self.args
        body = kwargs.pop('body', None) or self.kwargs['body']
        if body is None:
            from celery.exceptions import ChordError
            raise ChordError('Cannot apply a chord without a body: use chord(header)(body)')
        kwargs = dict(self.kwargs['kwargs'], **kwargs)
        body = maybe_signature(body, app=self._app).clone(**_body_options(options))
        app = self._get_app(body)
        tasks = self.tasks.clone() if isinstance(self.tasks, group) else group(self.tasks, app=app)
        if app.conf.task_always_eager:
            from celery.result import allow_join_result
            with allow_join_result():
                return self.apply(args, kwargs, body=body, task_id=task_id, **options)
        merged = dict(self.options, **options) if options else dict(self.options)
        option_task_id = merged.pop('task_id', None)
        return self.run(tasks, body, args, task_id=task_id or option_task_id,
                        kwargs=kwargs, producer=producer or publisher, **merged)

    def apply(self, args: Any = None, kwargs: Any = None, propagate: bool = True,
              body: Any = None, **options: Any) -> Any:
        """Run the header, then the body, eagerly."""
        body = self.body if body is None else body
        tasks = self.tasks.clone() if isinstance(self.tasks, group) else group(self.tasks, app=self.app)
        header_values = tasks.apply(args or (), kwargs or {}).get(propagate=propagate)
        return body.apply(args=(header_values,))

    def run(self, header: group, body: Signature, partial_args: Any, app: Celery | None = None,
            interval: float | None = None, countdown: float = 1, max_retries: int | None = None,
            eager: bool = False, task_id: str | None = None, kwargs: Any = None,
            producer: Any = None, **options: Any) -> AsyncResult:
        """Freeze body and header, tell the backend, and send the header."""
        app = app or self._get_app(body)
        group_id = header.options.get('task_id') or uuid()
        root_id = body.options.get('root_id')
        options = dict(self.options, **options) if options else dict(self.options)
        options.pop('task_id', None)
        options.pop('add_to_parent', None)
        body.options.update(_body_options(options))
        body.chord_size = self.__length_hint__()
        bodyres = body.freeze(task_id, root_id=root_id)
        # The rest of a chain and an outer chord belong to the body, not the header.
        for key in ('chain', 'chord', 'task_id', 'link', 'link_error', 'group_id',
                    'group_index'):
            options.pop(key, None)
        header_result_args = header._freeze_group_tasks(group_id=group_id, chord=body,
                                                        root_id=root_id)
        if header.tasks:
            app.backend.apply_chord(header_result_args, body, interval=interval,
                                    countdown=countdown, max_retries=max_retries)
            header_result = header.apply_async(partial_args, kwargs, task_id=group_id,
                                               producer=producer, **options)
        else:
            # Nothing in the header will ever report: call the body now.
            body.apply_async(([],), parent_id=options.get('parent_id'))
            header_result = app.GroupResult(*header_result_args)
        bodyres.parent = header_result
        return bodyres

    def freeze(self, _id: str | None = None, group_id: str | None = None, chord: Any = None,
               root_id: str | None = None, parent_id: str | None = None,
               group_index: int | None = None) -> AsyncResult:
        """Give header and body their ids; returns the body's result (its parent is the header)."""
        if not isinstance(self.tasks, group):
            self.tasks = group(self.tasks, app=self.app)
        # The header learns of its body only when the chord runs: embedding the
        # body here would copy it into every member, and a chain of chords
        # would grow its message exponentially with the chain's length.
        header_result = self.tasks.freeze(parent_id=parent_id, root_id=root_id)
        self.id = self.tasks.id
        if not self.body:
            return header_result
        if group_id:
            give_own_id(self.body, _id)
        body_result = self.body.freeze(_id, root_id=root_id, chord=chord, group_id=group_id,
                                       group_index=group_index)
        # The body may be a chain: the header precedes its first step, not its last.
        _first_step_result(body_result).parent = header_result
        return body_result

    _freeze = freeze

    # -- links, composition ----------------------------------------------------

    def link(self, callback: Signature) -> Signature:
        """Link ``callback`` to the body."""
        self.body.link(callback)
        return callback

    def link_error(self, errback: Signature) -> Signature:
        """Link ``errback`` to the body (and the header with task_allow_error_cb_on_chord_header)."""
        if self.app.conf.task_allow_error_cb_on_chord_header:
            for task in maybe_list(self.tasks) or []:
                task.link_error(errback.clone().set(immutable=True))
        else:
            warnings.warn(
                'task_allow_error_cb_on_chord_header is False: the errback is linked to the '
                'chord body only and will not be called when a header task fails, only '
                'when the body does.', stacklevel=2)
        self.body.link_error(errback)
        return errback

    def __or__(self, other: Any) -> Any:
        from celery._canvas.chain import _chain
        if isinstance(other, Signature) and not isinstance(other, (group, _chain)):
            # chord | task -> the task follows the body
            sig = self.clone()
            sig.body = sig.body | other
            return sig
        if isinstance(other, group) and len(other.tasks) == 1:
            sig = self.clone()
            sig.body = sig.body | other.tasks[0]
            return sig
        return super().__or__(other)

    def clone(self, *args: Any, **kwargs: Any) -> _chord:
        """Copy the chord; its body (and the body's links) is a deep copy."""
        return super().clone(*args, **kwargs)

    def _copy_nested(self, clone: Signature, memo: dict[int, Any]) -> None:
        if clone.body is not None:
            # Same memo as our options: an errback on both chord and body stays one.
            clone.body = deepcopy(maybe_signature(clone.body, app=self._app), memo)

    def stamp(self, visitor: Any = None, append_stamps: bool = False, **headers: Any) -> None:
        """Stamp the header tasks, then the body, through ``visitor``."""
        visitor_headers = visitor.on_chord_header_start(self, **headers) if visitor else None
        headers = self._stamp_headers(visitor_headers, append_stamps, **headers)
        self.stamp_links(visitor, append_stamps, **headers)
        tasks = self.tasks.tasks if isinstance(self.tasks, group) else self.tasks
        for task in tasks:
            maybe_signature(task, app=self._app).stamp(visitor, append_stamps, **headers)
        if visitor is not None:
            visitor.on_chord_header_end(self, **headers)
        if self.body is not None:
            body_headers = visitor.on_chord_body(self, **headers) if visitor else None
            headers = self._stamp_headers(body_headers, append_stamps, **headers)
            self.body.stamp(visitor, append_stamps, **headers)

    # -- sizing ----------------------------------------------------------------

    def _chord_member_count(self) -> int:
        # A chord inside a header reports through its body.
        return maybe_signature(self.body, app=self._app)._chord_member_count()

    def __length_hint__(self) -> int:
        """Number of completions the body waits for (nested groups/chains counted)."""
        tasks = self.tasks.tasks if isinstance(self.tasks, group) else self.tasks
        return sum(maybe_signature(t, app=self._app)._chord_member_count() for t in tasks)

    def _get_app(self, body: Any = None) -> Any:
        app = self._app
        if app is None:
            try:
                tasks = self.tasks.tasks if isinstance(self.tasks, group) else self.tasks
                app = tasks[0]._app
            except (KeyError, IndexError, AttributeError):
                app = None
            if app is None and body is not None:
                app = body._app
        return app if app is not None else self.type.app

    @property
    def app(self) -> Any:
        """The app of the chord (or of its first header task / body)."""
        return self._get_app(self.body)

    def __repr__(self) -> str:
        return f'chord({self.tasks!r}, {self.body!r})'


chord = _chord

"""Signatures: a task call (name, arguments, options) as a serializable dict."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from copy import deepcopy
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast, overload

from celery._canvas.stamping import StampingVisitor, combine_stamps, existing_stamps
from celery._state import current_app
from celery._typing import R_co
from celery.utils import uuid
from celery.utils.functional import maybe_list
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from typing_extensions import Self

    from celery.app.base import Celery
    from celery.app.task import Task
    from celery.result import AsyncResult, EagerResult

    # Inside Signature, ``AsyncResult`` is the property below.
    _AsyncResult = AsyncResult

    class _Named(Protocol):
        """A task, or anything standing for one: it has the task's ``name``."""

        @property
        def name(self) -> str | None: ...

__all__ = ('Signature', 'signature', 'subtask', 'maybe_signature', 'maybe_subtask',
           'task_name_from')

logger = get_logger(__name__)

T = TypeVar('T')
S = TypeVar('S', bound='Signature[Any]')
#: Positional arguments of a call, as given (a tuple once in a signature).
_Args = Sequence[Any]
#: Keyword arguments or options of a call.
_Kwargs = Mapping[str, Any]


def _getitem_property(key: str, doc: str) -> property:
    # The field's value, whatever the key: a property's type is not per key.
    def getter(self: dict[str, Any]) -> Any:
        return self.get(key)

    def setter(self: dict[str, Any], value: object) -> None:
        self[key] = value
    return property(getter, setter, doc=doc)


class Signature(dict[str, Any], Generic[R_co]):
    """One task call, not yet made: task name, arguments and sending options.

    ``Signature[int]``: a call of a task returning int (``add.s(2, 2)``).

    It *is* a dict (``task``, ``args``, ``kwargs``, ``options``,
    ``subtask_type``, ``immutable``, ``chord_size``), so any serializer that
    handles dicts can send it: as a callback, or as a step of a workflow.
    """

    TYPES: dict[str, type[Signature]] = {}
    _app: Celery | None = None
    # The task object given (a Task, or anything named like one, e.g. a proxy).
    _type: Any = None

    #: Options that keep their first value when partial options are merged:
    #: changing them would leave a chord waiting for a member that never reports.
    _IMMUTABLE_OPTIONS = frozenset({'group_id', 'stamped_headers'})

    @classmethod
    def register_type(cls, name: str | None = None) -> Callable[[type[S]], type[S]]:
        """Register a signature subclass so :meth:`from_dict` can rebuild it by ``subtask_type``."""
        def _inner(subclass: type[S]) -> type[S]:
            cls.TYPES[name or subclass.__name__] = subclass
            return subclass
        return _inner

    @classmethod
    def from_dict(cls, d: _Kwargs, app: Celery | None = None) -> Signature[Any]:
        """Create a signature (of the right subclass) from its dict form."""
        typ = d.get('subtask_type')
        if typ:
            target_cls = cls.TYPES.get(typ)
            if target_cls is None:
                logger.warning('Unknown signature type %r for task %r: treating it as a '
                               'plain task signature', typ, d.get('task'))
            elif target_cls is not cls:
                return target_cls.from_dict(d, app=app)
        return Signature(d, app=app)

    def __init__(self, task: str | _Named | _Kwargs | None = None, args: _Args | None = None,
                 kwargs: _Kwargs | None = None, options: _Kwargs | None = None,
                 type: _Named | None = None, subtask_type: str | None = None,
                 immutable: bool = False, app: Celery | None = None, **ex: Any) -> None:
        self._app = app

        if isinstance(task, dict):
            super().__init__(task)
            return
        try:
            task_name = task.name  # type: ignore[union-attr]  # a task, else a name
        except AttributeError:
            task_name = task
        else:
            self._type = task
        chord_size = ex.pop('chord_size', None)
        super().__init__(
            task=task_name, args=tuple(args or ()),
            kwargs=kwargs or {},
            options=dict(options or {}, **ex),
            subtask_type=subtask_type,
            immutable=immutable,
        )
        if chord_size is not None:
            # Only a chord body carries the key (as on Celery's wire).
            self['chord_size'] = chord_size

    # -- calling ---------------------------------------------------------------

    def __call__(self, *partial_args: Any, **partial_kwargs: Any) -> R_co:
        """Call the task directly (in the current process)."""
        args, kwargs, _ = self._merge(partial_args, partial_kwargs, None)
        value: R_co = self.type(*args, **kwargs)
        return value

    def delay(self, *partial_args: Any, **partial_kwargs: Any) -> AsyncResult[R_co]:
        """Send the task with ``*args``/``**kwargs`` added to the partial ones."""
        return self.apply_async(partial_args, partial_kwargs)

    def apply(self, args: _Args | None = None, kwargs: _Kwargs | None = None,
              **options: Any) -> EagerResult[R_co]:
        """Run the task here and now (no message), with partial arguments merged in."""
        options = {k: v for k, v in options.items() if v is not None}
        args, kwargs, options = self._merge(args, kwargs, options)
        result: EagerResult[R_co] = self.type.apply(args, kwargs, **options)
        return result

    def apply_async(self, args: _Args | None = None, kwargs: _Kwargs | None = None,
                    route_name: str | None = None, **options: Any) -> AsyncResult[R_co]:
        """Send the task (given args go before the partial ones); returns its result."""
        options = {k: v for k, v in options.items() if v is not None}
        if args or kwargs or options:
            args, kwargs, options = self._merge(args, kwargs, options)
        else:
            args, kwargs, options = self.args, self.kwargs, self.options
        if route_name is not None:
            options = dict(options, route_name=route_name)
        result: AsyncResult[R_co] = self._apply_async(args, kwargs, **options)
        return result

    def _merge(self, args: _Args | None = None, kwargs: _Kwargs | None = None,
               options: _Kwargs | None = None,
               force: bool = False) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]:
        """Merge partial args/kwargs/options with ours (immutable ignores args/kwargs)."""
        if options is not None:
            keep = self._IMMUTABLE_OPTIONS.union(self.options.get('stamped_headers') or ())
            new_options = {**self.options, **{
                k: v for k, v in options.items() if k not in keep or k not in self.options
            }}
        else:
            new_options = self.options
        if self.immutable and not force:
            return self.args, self.kwargs, new_options
        return (tuple(args) + tuple(self.args) if args else self.args,
                dict(self.kwargs, **kwargs) if kwargs else self.kwargs,
                new_options)

    # -- copying and freezing --------------------------------------------------

    def clone(self, args: _Args | None = None, kwargs: _Kwargs | None = None,
              **opts: Any) -> Signature[R_co]:
        """A copy of this signature, with extra partial arguments and options merged in.

        Linked signatures (``link``, ``link_error``, a chord's body) are deep
        copies, so changing the copy never changes the original's callbacks.
        """
        if args or kwargs or opts:
            args, kwargs, opts = self._merge(args, kwargs, opts)
        else:
            args, kwargs, opts = self.args, self.kwargs, self.options
        # One memo for the whole copy: a signature linked twice stays one object.
        memo: dict[int, Any] = {}
        fields = {'task': self.task, 'args': tuple(args), 'kwargs': dict(kwargs),
                  'options': _copied_options(opts, memo),
                  'subtask_type': self.subtask_type, 'immutable': self.immutable}
        if self.chord_size is not None:
            fields['chord_size'] = self.chord_size
        clone: Signature[R_co] = Signature.from_dict(fields, app=self._app)
        clone._type = self._type
        self._copy_nested(clone, memo)
        return clone

    def _copy_nested(self, clone: Signature[Any], memo: dict[int, Any]) -> None:
        """Give ``clone`` copies of the signatures nested in our kwargs (subclasses)."""

    partial = clone

    def freeze(self, _id: str | None = None, group_id: str | None = None,
               chord: Signature[Any] | None = None, root_id: str | None = None,
               parent_id: str | None = None, group_index: int | None = None,
               ) -> AsyncResult[R_co]:
        """Pin this signature to a task id (kept once chosen) and return its result."""
        options = self.options
        if 'task_id' not in options:
            options['task_id'] = _id or uuid()
        # Where the enclosing workflow says we sit replaces what we had ...
        place_in_workflow(options, root_id=root_id, parent_id=parent_id, chord=chord,
                          group_index=group_index)
        # ... but a group we already belong to, and our reply queue, are kept.
        if group_id:
            options.setdefault('group_id', group_id)
        if 'reply_to' not in options:
            options['reply_to'] = self.app.thread_oid
        result: AsyncResult[R_co] = self.AsyncResult(options['task_id'])
        return result

    _freeze = freeze

    def replace(self, args: _Args | None = None, kwargs: _Kwargs | None = None,
                options: _Kwargs | None = None) -> Signature[R_co]:
        """A copy of this signature with the given args, kwargs or options swapped in."""
        sig = self.clone()
        if args is not None:
            sig.args = args
        if kwargs is not None:
            sig.kwargs = kwargs
        if options is not None:
            sig.options = options
        return sig

    def set(self, immutable: bool | None = None, **options: Any) -> Self:
        """Update the sending options (and maybe ``immutable``) in place; returns self."""
        if immutable is not None:
            self.set_immutable(immutable)
        self.options.update(options)
        return self

    def set_immutable(self, immutable: bool) -> None:
        """Make the signature ignore the results of the tasks before it."""
        self.immutable = immutable

    # -- stamping --------------------------------------------------------------

    def stamp(self, visitor: StampingVisitor | None = None, append_stamps: bool = False,
              **headers: Any) -> Signature[R_co] | None:
        """Stamp this signature (and its links) with custom headers, or the visitor's.

        Returns this signature (workflows, as in Celery, return None).
        """
        self.stamp_links(visitor, append_stamps, **headers)
        visitor_headers = visitor.on_signature(self, **headers) if visitor else None
        return self.set(**self._stamp_headers(visitor_headers, append_stamps, **headers))

    def _stamp_headers(self, visitor_headers: _Kwargs | None = None, append_stamps: bool = False,
                       self_headers: bool = True, **headers: Any) -> dict[str, Any]:
        """Combine explicit stamps, the visitor's and ours into the options to set."""
        own = existing_stamps(self.options) if self_headers else None
        return combine_stamps((headers, visitor_headers, own), append_stamps)

    def stamp_links(self, visitor: StampingVisitor | None, append_stamps: bool = False,
                    **headers: Any) -> None:
        """Stamp the callbacks and errbacks linked to this signature."""
        for key, hook in (('link', 'on_callback'), ('link_error', 'on_errback')):
            links = maybe_list(self.options.get(key))
            if not links:
                continue
            stamped = []
            for item in links:
                link = maybe_signature(item, app=self._app)
                visitor_headers = getattr(visitor, hook)(link, **headers) if visitor else None
                link_headers = combine_stamps((headers, visitor_headers), append_stamps)
                link.stamp(visitor, append_stamps, **link_headers)
                stamped.append(link)
            self.options[key] = stamped

    # -- links -----------------------------------------------------------------

    def _with_list_option(self, key: str) -> list[Any]:
        items = self.options.setdefault(key, [])
        if not isinstance(items, list):
            items = self.options[key] = [items]
        return items

    def append_to_list_option(self, key: str, value: T) -> T:
        """Append ``value`` to list option ``key`` unless already present."""
        items = self._with_list_option(key)
        if value not in items:
            items.append(value)
        return value

    def extend_list_option(self, key: str, value: object) -> None:
        """Extend list option ``key`` with ``value``."""
        items = self._with_list_option(key)
        items.extend(maybe_list(value))

    def link(self, callback: S) -> S:
        """Call ``callback`` with this task's return value when it succeeds."""
        return self.append_to_list_option('link', callback)

    def link_error(self, errback: S) -> S:
        """Call ``errback`` when this task fails."""
        return self.append_to_list_option('link_error', errback)

    def on_error(self, errback: Signature[Any]) -> Self:
        """Like :meth:`link_error`, but returns self so calls can be chained."""
        self.link_error(errback)
        return self

    def flatten_links(self) -> list[Signature[Any]]:
        """This signature and, depth first, every callback linked below it."""
        result: list[Signature[Any]] = [self]
        for link in maybe_list(self.options.get('link')) or []:
            result.extend(maybe_signature(link, app=self._app).flatten_links())
        return result

    # -- composition -----------------------------------------------------------

    def __or__(self, other: Signature[Any]) -> Signature[Any]:  # type: ignore[override]
        # Composition, not dict's merge: ``a | b`` is a chain (or ``a`` again).
        from celery._canvas.chain import _chain
        from celery._canvas.group import group, is_empty_group, maybe_unroll_group
        if is_empty_group(other):
            # An empty group adds no step: our result goes to the next real task.
            return self.clone()
        if isinstance(other, _chain):
            # task | chain -> chain
            return _chain([self, *other.unchain_tasks()], app=self._app)
        if isinstance(other, group):
            # task | group -> chain (a group of one is just its task)
            return _chain(self, maybe_unroll_group(other), app=self._app)
        if isinstance(other, Signature):
            return _chain(self, other, app=self._app)
        return NotImplemented

    # Any: the subclasses' ``|`` decides (a group gives a chord, a chord a chain...).
    def __ior__(self, other: Signature[Any]) -> Any:  # type: ignore[override]
        # `|=` composes workflows, it does not merge dicts.
        return self.__or__(other)

    def _chord_member_count(self) -> int:
        """How many completions this signature reports to a chord it is a header member of."""
        return 1

    # -- misc ------------------------------------------------------------------

    def election(self) -> AsyncResult[R_co]:
        """Send the ``election`` remote-control command for this task id."""
        type_ = self.type
        app = type_.app
        tid = self.options.get('task_id') or uuid()
        with app.producer_or_acquire(None) as producer:
            props = type_.backend.on_task_call(producer, tid)
            app.control.election(tid, 'task', self.clone(task_id=tid, **props),
                                 connection=producer.connection)
            result: AsyncResult[R_co] = type_.AsyncResult(tid)
            return result

    def reprcall(self, *args: Any, **kwargs: Any) -> str:
        """Render the signature as a call: ``task(arg, key=value)``."""
        args, kwargs, _ = self._merge(args, kwargs, {}, force=True)
        arg_reprs = [repr(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()]
        return f'{self["task"]}({", ".join(arg_reprs)})'

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        # Same class, every field copied (Celery returns a shallow plain dict,
        # whose links are shared with the original).  Attributes (app, task,
        # bookkeeping) are shared: they are not part of the signature.
        copy = type(self).__new__(type(self))
        memo[id(self)] = copy
        copy.__dict__.update(self.__dict__)
        for key, value in dict.items(self):
            dict.__setitem__(copy, key, deepcopy(value, memo))
        return copy

    def __invert__(self) -> R_co:
        return self.apply_async().get()

    def __reduce__(self) -> tuple[Callable[..., Signature[Any]], tuple[dict[str, Any]]]:
        return signature, (dict(self),)

    def __json__(self) -> dict[str, Any]:
        return dict(self)

    def __repr__(self) -> str:
        return self.reprcall()

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        """Dict items of the serialized form."""
        for k, v in super().items():
            yield k.decode() if isinstance(k, bytes) else k, v

    @property
    def name(self) -> str:
        """Name of the task (same as ``task``)."""
        name: str = self.get('name') or self.task
        return name

    @property
    def id(self) -> str | None:
        """The task id, once frozen or set."""
        task_id: str | None = self.options.get('task_id')
        return task_id

    @id.setter
    def id(self, value: str | None) -> None:
        self.options['task_id'] = value

    @property
    def root_id(self) -> str | None:
        """Id of the first task of the workflow."""
        root_id: str | None = self.options.get('root_id')
        return root_id

    @property
    def parent_id(self) -> str | None:
        """Id of the task that sent this one."""
        parent_id: str | None = self.options.get('parent_id')
        return parent_id

    @property
    def type(self) -> Task:
        """The task this signature calls (looked up in the app's registry)."""
        task: Task = self._type or self.app.tasks[self['task']]
        return task

    @property
    def app(self) -> Celery:
        """The app of this signature (the current app when unset)."""
        return self._app or current_app

    @property
    def AsyncResult(self) -> Callable[..., _AsyncResult[Any]]:
        """Result class of this signature's task."""
        try:
            make: Callable[..., _AsyncResult[Any]] = self.type.AsyncResult
        except KeyError:  # task not registered here: plain results of the app
            make = self.app.AsyncResult
        return make

    @property
    def _apply_async(self) -> Callable[..., _AsyncResult[Any]]:
        try:
            return self.type.apply_async
        except KeyError:
            return _partial_send_task(self.app, self['task'])

    id_ = id
    task = _getitem_property('task', 'Name of the task to call.')
    args = _getitem_property('args', 'Positional arguments of the call.')
    kwargs = _getitem_property('kwargs', 'Keyword arguments of the call.')
    options = _getitem_property('options', 'Options for sending the task (queue, countdown, ...).')
    subtask_type = _getitem_property('subtask_type', 'Kind of workflow (group, chain…), or None.')
    immutable = _getitem_property('immutable', 'True when partial arguments are ignored.')
    chord_size = _getitem_property('chord_size', 'Size of the chord this is the body of.')


#: Option values a deep copy would return as they are.
_ATOMIC_OPTION_TYPES = frozenset({str, int, float, bool, type(None), bytes})


def _copied_options(options: dict[str, Any], memo: dict[int, Any]) -> dict[str, Any]:
    """A deep copy of ``options``; a plain dict copy when every value is atomic."""
    # Most signatures (every member of a group of ``task.s(...)``) carry
    # only ids, names and numbers: deepcopy would walk them all to return
    # each one unchanged, the main cost of cloning a group member.
    if type(options) is not dict:
        return deepcopy(options, memo)
    atomic = _ATOMIC_OPTION_TYPES
    for value in options.values():
        if type(value) not in atomic:
            return deepcopy(options, memo)
    return dict(options)


def place_in_workflow(options: dict[str, Any], group_index: int | None = None,
                      **ids: Any) -> None:
    """Copy the given (non-empty) workflow ``ids`` and the group position into ``options``."""
    for key, value in ids.items():
        if value:
            options[key] = value
    # Index 0 is a real position, so only None means "not in a group".
    if group_index is not None:
        options['group_index'] = group_index


def _partial_send_task(app: Celery, name: str) -> Callable[..., AsyncResult[Any]]:
    def send(args: _Args | None = None, kwargs: _Kwargs | None = None,
             **options: Any) -> AsyncResult[Any]:
        result: AsyncResult[Any] = app.send_task(name, args, kwargs, **options)
        return result
    return send


def task_name_from(task: str | _Named) -> str:
    """The name of ``task``: a task object's ``name``, or ``task`` itself (a name)."""
    target: Any = task  # a name passes through as it is
    name: str = getattr(target, 'name', target)
    return name


def signature(varies: str | _Named | _Kwargs, *args: Any, **kwargs: Any) -> Signature[Any]:
    """Build a signature from a dict, another signature (copied) or a task and its arguments."""
    app = kwargs.get('app')
    if isinstance(varies, dict):
        if isinstance(varies, Signature):
            return varies.clone()
        return Signature.from_dict(varies, app=app)
    return Signature(varies, *args, **kwargs)


subtask = signature


@overload
def maybe_signature(d: None, app: Celery | None = None, clone: bool = False) -> None: ...
@overload
def maybe_signature(d: list[Any], app: Celery | None = None,
                    clone: bool = False) -> list[Signature[Any]]: ...
@overload
def maybe_signature(d: S, app: Celery | None = None, clone: bool = False) -> S: ...
@overload
def maybe_signature(d: _Kwargs, app: Celery | None = None,
                    clone: bool = False) -> Signature[Any]: ...


def maybe_signature(d: _Kwargs | list[Any] | None, app: Celery | None = None,
                    clone: bool = False) -> Signature[Any] | list[Signature[Any]] | None:
    """``d`` as a Signature (dicts are converted, lists item by item); None stays None."""
    if d is None:
        return None
    if isinstance(d, list):
        return [maybe_signature(s, app=app) for s in d]
    sig: Signature[Any]
    if isinstance(d, Signature):
        sig = d.clone() if clone else d
    elif isinstance(d, dict):
        sig = Signature.from_dict(dict(d) if clone else d, app=app)
    else:
        # Anything else that acts as a signature passes through as it is, as in
        # Celery (django-celery-results hands a mock request.chord here).
        sig = cast('Signature[Any]', d)
    if app is not None:
        sig._app = app
    return sig


maybe_subtask = maybe_signature

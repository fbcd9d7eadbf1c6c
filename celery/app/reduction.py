"""How an app, and the classes it binds to itself, travel in a pickle.

An app pickles as its constructor arguments plus the settings changed in
code (:meth:`AppReduction.__reduce_keys__`); a class made by
:meth:`AppReduction.subclass_with_self` pickles its instances as "this
attribute of the current app", so they are rebuilt on the app of the
process loading them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from celery._state import get_current_app
from celery.app.pickling import AppPickler, _unpickle_app_v2
from celery.utils.imports import symbol_by_name

if TYPE_CHECKING:
    from celery.app.task import Task
    from celery.app.utils import Settings

__all__ = ('AppReduction',)

_C = TypeVar('_C')


def _unpickle_appattr(reverse_name: str, args: tuple[object, ...]) -> object:
    """Rebuild an object made by :meth:`Celery.subclass_with_self` on the current app."""
    return get_current_app()._rgetattr(reverse_name)(*args)


# Pickles name it by Celery's path, which celery.app.base re-exports: the
# bytes stay readable by Celery and by this package's earlier versions.
_unpickle_appattr.__module__ = 'celery.app.base'


def _reduce_through_app(path: str) -> Callable[[Any], tuple[object, ...]]:
    """A ``__reduce__`` rebuilding the object from the current app's ``path`` attribute."""
    # Any: the instance of whatever class was subclassed (it has __reduce_args__).
    def __reduce__(obj: Any) -> tuple[object, ...]:
        return _unpickle_appattr, (path, obj.__reduce_args__())
    return __reduce__


# Constructor argument -> attribute that keeps it, for pickling (Celery's argument names).
_REDUCED_ATTRIBUTES = (
    ('main', 'main'), ('loader', 'loader_cls'), ('backend', 'backend_cls'),
    ('amqp', 'amqp_cls'), ('events', 'events_cls'), ('log', 'log_cls'),
    ('control', 'control_cls'), ('fixups', 'fixups'), ('config_source', '_config_source'),
    ('config_source_silent', '_config_source_silent'), ('task_cls', 'task_cls'),
    ('namespace', 'namespace'),
)


class AppReduction:
    """Mixin of :class:`~celery.Celery`: pickling the app and the classes bound to it."""

    #: Rebuilds apps pickled in the older, positional format.
    Pickler = AppPickler

    if TYPE_CHECKING:
        # Given by the other parts of :class:`~celery.Celery`.
        task_cls: str | type[Task]
        configured: bool
        _preconf: dict[str, object]

        @property
        def conf(self) -> Settings: ...

    def create_task_cls(self) -> type[Task]:
        """Create a base task class bound to this app."""
        return self.subclass_with_self(
            self.task_cls, name='Task', attribute='_app',
            keep_reduce=True, abstract=True,
        )

    @overload
    def subclass_with_self(self, Class: type[_C], name: str | None = None,
                           attribute: str = 'app', reverse: str | None = None,
                           keep_reduce: bool = False, **kw: object) -> type[_C]: ...

    @overload
    def subclass_with_self(self, Class: str, name: str | None = None,
                           attribute: str = 'app', reverse: str | None = None,
                           keep_reduce: bool = False, **kw: object) -> type: ...

    def subclass_with_self(self, Class: type | str, name: str | None = None,
                           attribute: str = 'app', reverse: str | None = None,
                           keep_reduce: bool = False, **kw: object) -> type:
        """Subclass ``Class`` (a class or ``'module:Class'``) with ``attribute`` set to this app.

        Instances pickle as "``reverse`` of the current app" (by default the
        class name: ``app.Worker``, ``app.AsyncResult``...) unless
        ``keep_reduce`` is set; ``kw`` are more class attributes.
        """
        base = symbol_by_name(Class)
        attrs = {attribute: self, '__module__': base.__module__, '__doc__': base.__doc__, **kw}
        if not keep_reduce:
            attrs['__reduce__'] = _reduce_through_app(reverse or base.__name__)
        return type(name or base.__name__, (base,), attrs)

    def _rgetattr(self, path: str) -> Any:
        # Any: whatever attribute the dotted path names.
        obj: Any = self
        for part in path.split('.'):
            obj = getattr(obj, part)
        return obj

    def __reduce__(self) -> tuple[object, ...]:
        return _unpickle_app_v2, (self.__class__, self.__reduce_keys__())

    def __reduce_keys__(self) -> dict[str, object]:
        """Keyword arguments used to reconstruct the object when unpickling."""
        keys = {arg: getattr(self, attr) for arg, attr in _REDUCED_ATTRIBUTES}
        # Only what was changed in code: the rest is read again from its source.
        keys['changes'] = self.conf.changes if self.configured else self._preconf
        return keys

"""Abstract base classes for task-like and signature-like objects."""
from __future__ import annotations

import builtins
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.app.task import Task
    from celery.result import AsyncResult, EagerResult

__all__ = ('CallableSignature', 'CallableTask')


def _hasattr(cls: type, attr: str) -> bool:
    return any(attr in klass.__dict__ for klass in cls.__mro__)


class _AbstractClass(metaclass=ABCMeta):
    __required_attributes__: frozenset[str] = frozenset()

    @classmethod
    def _subclasshook_using(cls, parent: type, C: type) -> bool:
        # NotImplemented (not False): let the usual subclass checks decide.
        if cls is parent and all(_hasattr(C, attr) for attr in cls.__required_attributes__):
            return True
        undecided: bool = NotImplemented
        return undecided

    @classmethod
    def register(cls, other: type) -> type:
        """Register ``other`` as a virtual subclass; returns it (usable as decorator)."""
        type(cls).register(cls, other)
        return other


class CallableTask(_AbstractClass, Callable[..., object]):  # type: ignore[misc]
    """Anything that can be called like a task: ``delay``, ``apply_async``, ``apply``."""

    __required_attributes__ = frozenset({'delay', 'apply_async', 'apply'})

    @abstractmethod
    def delay(self, *args: Any, **kwargs: Any) -> AsyncResult:
        """Send the task with the given arguments."""

    @abstractmethod
    def apply_async(self, *args: Any, **kwargs: Any) -> AsyncResult:
        """Send the task with arguments and execution options."""

    @abstractmethod
    def apply(self, *args: Any, **kwargs: Any) -> EagerResult:
        """Run the task locally."""

    @classmethod
    def __subclasshook__(cls, C: type) -> bool:
        return cls._subclasshook_using(CallableTask, C)


class CallableSignature(CallableTask):
    """Anything that behaves like a task signature (can be linked, frozen, cloned)."""

    __required_attributes__ = CallableTask.__required_attributes__ | frozenset({
        'clone', 'freeze', 'set', 'link', 'link_error', '__or__',
    })

    @property
    @abstractmethod
    def name(self) -> str:
        """Name of the task."""

    @property
    @abstractmethod
    def type(self) -> Task:
        """The task object."""

    @property
    @abstractmethod
    def app(self) -> Celery:
        """The app the signature belongs to."""

    @property
    @abstractmethod
    def id(self) -> str | None:
        """Task id."""

    @property
    @abstractmethod
    def task(self) -> str:
        """Task name."""

    @property
    @abstractmethod
    def args(self) -> Sequence[object]:
        """Positional arguments."""

    @property
    @abstractmethod
    def kwargs(self) -> Mapping[str, object]:
        """Keyword arguments."""

    @property
    @abstractmethod
    def options(self) -> Mapping[str, object]:
        """Execution options."""

    @property
    @abstractmethod
    def subtask_type(self) -> str | None:
        """Kind of signature (``'chain'``, ``'group'``...) or None."""

    @property
    @abstractmethod
    def chord_size(self) -> int | None:
        """Size of the chord this is part of."""

    @property
    @abstractmethod
    def immutable(self) -> bool:
        """True if the parent's result is not passed to it."""

    @abstractmethod
    def clone(self, args: Sequence[object] | None = None,
              kwargs: Mapping[str, object] | None = None) -> CallableSignature:
        """Return a copy with extra arguments."""

    @abstractmethod
    def freeze(self, id: str | None = None, group_id: str | None = None,
               chord: CallableSignature | None = None, root_id: str | None = None,
               group_index: int | None = None) -> AsyncResult:
        """Fix the task id and return the result instance."""

    @abstractmethod
    def set(self, immutable: bool | None = None, **options: Any) -> CallableSignature:
        """Update options."""

    @abstractmethod
    def link(self, callback: CallableSignature) -> CallableSignature:
        """Add a callback run on success."""

    @abstractmethod
    def link_error(self, errback: CallableSignature) -> CallableSignature:
        """Add a callback run on failure."""

    @abstractmethod
    def __or__(self, other: CallableSignature) -> CallableSignature:
        """Chain with ``other``."""

    @abstractmethod
    def __invert__(self) -> object:
        """Apply and return the result's value."""

    @classmethod
    def __subclasshook__(cls, C: builtins.type) -> bool:
        return cls._subclasshook_using(CallableSignature, C)

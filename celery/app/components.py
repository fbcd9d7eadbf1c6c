"""The parts of an app created on first use: backend, amqp, control, events, loader..."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

from celery._state import _task_stack, get_current_worker_task
from celery.utils import uuid
from celery.utils.imports import instantiate

if TYPE_CHECKING:
    from kombu.clocks import LamportClock

    from celery.app.amqp import AMQP
    from celery.app.base import Celery, _ThreadLocal
    from celery.app.control import Control
    from celery.app.events import Events
    from celery.app.log import Logging
    from celery.app.task import Task as _Task
    from celery.app.utils import Settings
    from celery.apps.beat import Beat as _Beat
    from celery.apps.worker import Worker as _Worker
    from celery.backends.base import Backend
    from celery.loaders.base import BaseLoader
    from celery.result import (
        AsyncResult as _AsyncResult,
        GroupResult as _GroupResult,
        ResultSet as _ResultSet,
    )
    from celery.worker import WorkController as _WorkController

__all__ = ('AppComponents',)

_C = TypeVar('_C')


class AppComponents:
    """Mixin with the lazily created components of :class:`~celery.Celery`."""

    _local: _ThreadLocal
    # Class or ``'module:Class'`` path of each component.
    loader_cls: str | type[BaseLoader] | None
    amqp_cls: str | type[AMQP]
    backend_cls: str | type[Backend] | None
    control_cls: str | type[Control]
    events_cls: str | type[Events]
    log_cls: str | type[Logging]
    clock_value: int

    if TYPE_CHECKING:
        # Given by the other parts of :class:`~celery.Celery`.
        @property
        def conf(self) -> Settings: ...

        def create_task_cls(self) -> type[_Task]: ...

        def subclass_with_self(self, Class: type[_C], name: str | None = None,
                               attribute: str = 'app', reverse: str | None = None,
                               keep_reduce: bool = False, **kw: object) -> type[_C]: ...

    @cached_property
    def Worker(self) -> type[_Worker]:
        """Worker application (:class:`celery.apps.worker.Worker`)."""
        from celery.apps.worker import Worker
        return self.subclass_with_self(Worker)

    @cached_property
    def WorkController(self) -> type[_WorkController]:
        """Embeddable worker (:class:`celery.worker.WorkController`)."""
        from celery.worker import WorkController
        return self.subclass_with_self(WorkController)

    @cached_property
    def Beat(self) -> type[_Beat]:
        """:program:`celery beat` scheduler application."""
        from celery.apps.beat import Beat
        return self.subclass_with_self(Beat)

    @cached_property
    def Task(self) -> type[_Task]:
        """Base task class for this app."""
        return self.create_task_cls()

    @cached_property
    def annotations(self) -> list[object]:
        """Task annotations from :setting:`task_annotations`."""
        from celery.app.annotations import prepare
        return prepare(self.conf.task_annotations)

    @cached_property
    def AsyncResult(self) -> type[_AsyncResult[Any]]:
        """Create new result instance (:class:`celery.result.AsyncResult`)."""
        from celery.result import AsyncResult
        return self.subclass_with_self(AsyncResult)

    @cached_property
    def ResultSet(self) -> type[_ResultSet]:
        """:class:`celery.result.ResultSet` bound to this app."""
        from celery.result import ResultSet
        return self.subclass_with_self(ResultSet)

    @cached_property
    def GroupResult(self) -> type[_GroupResult]:
        """Create new group result instance (:class:`celery.result.GroupResult`)."""
        from celery.result import GroupResult
        return self.subclass_with_self(GroupResult)

    @property
    def current_task(self) -> _Task | None:
        """Instance of task being executed, or :const:`None`."""
        task: _Task | None = _task_stack.top
        return task

    @property
    def current_worker_task(self) -> _Task | None:
        """The task currently being executed by a worker or :const:`None`."""
        task: _Task | None = get_current_worker_task()
        return task

    @cached_property
    def oid(self) -> str:
        """Universally unique identifier for this app."""
        return uuid()

    @property
    def thread_oid(self) -> str:
        """Per-thread unique identifier for this app (the rpc reply queue name)."""
        oid = self._local.thread_oid
        if oid is None:
            oid = self._local.thread_oid = uuid()
        return oid

    @cached_property
    def amqp(self) -> AMQP:
        """AMQP related functionality: :class:`~@amqp`."""
        amqp: AMQP = instantiate(self.amqp_cls, app=self)
        return amqp

    @property
    def backend(self) -> Backend:
        """Current result backend instance (one per thread)."""
        backend = self._local.backend
        if backend is None:
            backend = self._local.backend = self._get_backend()
        return backend

    def _get_backend(self) -> Backend:
        from celery.app.backends import by_url
        backend, url = by_url(self.backend_cls or self.conf.result_backend, self.loader)
        # (self is the Celery app this mixin is part of.)
        instance: Backend = backend(app=cast('Celery', self), url=url)
        return instance

    @cached_property
    def control(self) -> Control:
        """Remote control: :class:`~@control`."""
        control: Control = instantiate(self.control_cls, app=self)
        return control

    @cached_property
    def events(self) -> Events:
        """Consuming and sending events: :class:`~@events`."""
        events: Events = instantiate(self.events_cls, app=self)
        return events

    @cached_property
    def loader(self) -> BaseLoader:
        """Current loader instance."""
        from celery.loaders import get_loader_cls
        assert self.loader_cls is not None  # Celery.__init__ sets it, to the default at least
        loader: BaseLoader = get_loader_cls(self.loader_cls)(app=cast('Celery', self))
        return loader

    @cached_property
    def log(self) -> Logging:
        """Logging: :class:`~@log`."""
        log: Logging = instantiate(self.log_cls, app=self)
        return log

    @cached_property
    def clock(self) -> LamportClock:
        """Lamport clock of this app (:class:`kombu.clocks.LamportClock`)."""
        from kombu.clocks import LamportClock
        return LamportClock(self.clock_value)



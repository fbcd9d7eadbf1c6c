"""The parts of an app created on first use: backend, amqp, control, events, loader..."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from celery._state import _task_stack, get_current_worker_task
from celery.utils import uuid
from celery.utils.imports import instantiate

if TYPE_CHECKING:
    from celery.app.task import Task

__all__ = ('AppComponents',)


class AppComponents:
    """Mixin with the lazily created components of :class:`~celery.Celery`."""

    _local: Any
    conf: Any
    loader_cls: Any
    amqp_cls: Any
    backend_cls: Any
    control_cls: Any
    events_cls: Any
    log_cls: Any
    clock_value: int



    @cached_property
    def Worker(self) -> type:
        """Worker application (:class:`celery.apps.worker.Worker`)."""
        return self.subclass_with_self('celery.apps.worker:Worker')

    @cached_property
    def WorkController(self) -> type:
        """Embeddable worker (:class:`celery.worker.WorkController`)."""
        return self.subclass_with_self('celery.worker:WorkController')

    @cached_property
    def Beat(self) -> type:
        """:program:`celery beat` scheduler application."""
        return self.subclass_with_self('celery.apps.beat:Beat')

    @cached_property
    def Task(self) -> type[Task]:
        """Base task class for this app."""
        return self.create_task_cls()

    @cached_property
    def annotations(self) -> Any:
        """Task annotations from :setting:`task_annotations`."""
        from celery.app.annotations import prepare
        return prepare(self.conf.task_annotations)

    @cached_property
    def AsyncResult(self) -> type:
        """Create new result instance (:class:`celery.result.AsyncResult`)."""
        return self.subclass_with_self('celery.result:AsyncResult')

    @cached_property
    def ResultSet(self) -> type:
        """:class:`celery.result.ResultSet` bound to this app."""
        return self.subclass_with_self('celery.result:ResultSet')

    @cached_property
    def GroupResult(self) -> type:
        """Create new group result instance (:class:`celery.result.GroupResult`)."""
        return self.subclass_with_self('celery.result:GroupResult')

    @property
    def current_task(self) -> Task | None:
        """Instance of task being executed, or :const:`None`."""
        return _task_stack.top

    @property
    def current_worker_task(self) -> Task | None:
        """The task currently being executed by a worker or :const:`None`."""
        return get_current_worker_task()

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
    def amqp(self) -> Any:
        """AMQP related functionality: :class:`~@amqp`."""
        return instantiate(self.amqp_cls, app=self)

    @property
    def backend(self) -> Any:
        """Current result backend instance (one per thread)."""
        backend = self._local.backend
        if backend is None:
            backend = self._local.backend = self._get_backend()
        return backend

    def _get_backend(self) -> Any:
        from celery.app.backends import by_url
        backend, url = by_url(self.backend_cls or self.conf.result_backend, self.loader)
        return backend(app=self, url=url)

    @cached_property
    def control(self) -> Any:
        """Remote control: :class:`~@control`."""
        return instantiate(self.control_cls, app=self)

    @cached_property
    def events(self) -> Any:
        """Consuming and sending events: :class:`~@events`."""
        return instantiate(self.events_cls, app=self)

    @cached_property
    def loader(self) -> Any:
        """Current loader instance."""
        from celery.loaders import get_loader_cls
        return get_loader_cls(self.loader_cls)(app=self)

    @cached_property
    def log(self) -> Any:
        """Logging: :class:`~@log`."""
        return instantiate(self.log_cls, app=self)

    @cached_property
    def clock(self) -> Any:
        """Lamport clock of this app (:class:`kombu.clocks.LamportClock`)."""
        from kombu.clocks import LamportClock
        return LamportClock(self.clock_value)



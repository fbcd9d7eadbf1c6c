"""Task implementation: the ``Task`` base class and its calling API."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NoReturn, cast

from celery import states
from celery._state import LocalStack, _task_stack, current_app, get_current_app  # noqa: F401
from celery._typing import P, R
from celery.app.context import Context
from celery.app.lazy_attribute import imported_attribute
from celery.app.publish_settings import publish_settings
from celery.app.task_binding import FROM_CONFIG, TaskBinding  # noqa: F401
from celery.app.task_requests import TaskRequests
from celery.app.task_signatures import X_DEATH_HEADERS, TaskSignatures  # noqa: F401
from celery.exceptions import MaxRetriesExceededError, Reject, Retry
from celery.utils import uuid
from celery.utils.functional import mattrgetter, maybe_list

if TYPE_CHECKING:
    from billiard.einfo import ExceptionInfo
    from kombu import Producer
    from kombu.exceptions import OperationalError as KombuOperationalError

    from celery.app.base import Celery
    from celery.app.trace import trace_ok_t
    from celery.backends.base import Backend
    from celery.canvas import Signature
    from celery.result import AsyncResult, EagerResult
    from celery.worker.consumer import Consumer

__all__ = ('Context', 'Task', 'BaseTask')

#: Publishing options taken from task attributes.  The routing attributes
#: (queue, exchange, routing_key, priority) are left to the router, which
#: ranks them below task_routes.
extract_exec_options = mattrgetter(
    'expires', 'serializer', 'delivery_mode', 'compression', 'time_limit',
    'soft_time_limit', 'immediate', 'mandatory',
)

# Celery's repr formats, kept verbatim.
R_BOUND_TASK = '<class {0.__name__} of {app}{flags}>'
R_UNBOUND_TASK = '<unbound {0.__name__}{flags}>'
R_INSTANCE = '<@task: {0.name} of {app}{flags}>'


def get_actual_ignore_result(task: Task[..., Any], req: Context | None) -> bool:
    """Whether the result of request ``req`` of ``task`` is ignored.

    The call's own ``ignore_result`` option (kept on the request) wins over
    the task's attribute.
    """
    asked = vars(req).get('ignore_result') if req is not None else None
    return bool(task.ignore_result if asked is None else asked)


def _reprtask(task: Any, fmt: str | None = None, flags: str | None = None) -> str:
    notes = [*(flags or ()), *(('v2 compatible',) if task.__v2_compat__ else ())]
    template = fmt or (R_BOUND_TASK if task._app else R_UNBOUND_TASK)
    return template.format(task, flags='|'.join(notes), app=task._app)


class TaskType(type):
    """Metaclass giving task classes a readable repr."""

    def __repr__(cls) -> str:
        return _reprtask(cls)


class Task(TaskBinding, TaskRequests, TaskSignatures, Generic[P, R], metaclass=TaskType):
    """Base class of every task: its options, calling API and handlers.

    ``Task[[int, int], int]`` is a task whose function takes two ints and
    returns an int: ``@app.task`` gives that type to the task it makes.

    The work itself is :meth:`run`, written by the ``@app.task`` decorator
    from the decorated function (or by a subclass); calling a task runs it
    in-process, :meth:`delay` and :meth:`apply_async` send it to a worker.
    """

    #: The worker's tracer of this task (set by the worker, see :mod:`celery.app.trace`).
    __trace__: Callable[..., trace_ok_t] | None = None
    __v2_compat__ = False

    #: Checks call arguments against ``run``'s signature (set for ``@app.task`` functions).
    __header__: Callable[..., None] | None = None

    MaxRetriesExceededError = MaxRetriesExceededError

    #: kombu's connection error class (imported on first use: kombu is heavy).
    OperationalError: imported_attribute[type[KombuOperationalError]] = imported_attribute(
        'kombu.exceptions', 'OperationalError')

    #: Builds the worker's handler of this task's messages (a callable or its ``module:name``).
    Strategy = 'celery.worker.strategy:default'

    #: Class of the worker's request objects for this task (or its ``module:name``).
    Request = 'celery.worker.request:Request'

    #: Registered name; messages carry it to find the task.
    name: str | None = None

    #: Enable argument checking (``None``: the app's ``strict_typing``).
    typing: bool | None = None

    #: How many times :meth:`retry` may send the task again (``None``: no limit).
    max_retries: int | None = 3

    #: Seconds :meth:`retry` waits when given neither ``countdown`` nor ``eta``.
    default_retry_delay = 3 * 60

    #: Most calls each worker starts per time unit, e.g. ``'10/m'`` (``None``: unlimited).
    rate_limit: str | None = None

    #: Store neither states nor return values of this task.
    ignore_result: bool | None = None

    #: Record the results of subtasks sent while running (``result.children``).
    trail = True

    #: Emit task events for this task (when the worker sends events at all).
    send_events = True

    #: Store failures even when :attr:`ignore_result` is set.
    store_errors_even_if_ignored: bool | None = None

    #: Store results of :meth:`apply` (eager calls) in the backend too.
    store_eager_result: bool | None = None

    #: Serializer of this task's messages (a name known to kombu's registry).
    serializer: str | None = None

    #: Hard time limit in seconds (``None``: :setting:`task_time_limit`).
    time_limit: float | None = None

    #: Soft time limit in seconds (``None``: :setting:`task_soft_time_limit`).
    soft_time_limit: float | None = None

    #: A result backend for this task only (``None``: the app's).
    backend_override: Backend | None = None

    #: Report the STARTED state when the task is executed by a worker.
    track_started: bool | None = None

    #: Acknowledge after the task has run instead of just before.
    acks_late: bool | None = None

    #: Acknowledge when the task fails or times out (deprecated, see below).
    acks_on_failure_or_timeout: bool | None = None

    #: Acknowledge when the task fails (``None``: :setting:`task_acks_on_failure`).
    acks_on_failure: bool | None = None

    #: Acknowledge when the task times out (``None``: :setting:`task_acks_on_timeout`).
    acks_on_timeout: bool | None = None

    #: Requeue the message when the worker process executing it is lost.
    reject_on_worker_lost: bool | None = None

    #: Retry the task (as :meth:`retry` would) when the worker process executing it is lost.
    retry_on_worker_lost: bool | None = None

    #: Expected exceptions: logged as errors without traceback.
    throws: tuple[type[BaseException], ...] = ()

    #: Default task expiry time in seconds or a datetime.
    expires: float | datetime | None = None

    #: Default task priority.
    priority: int | None = None

    #: Longest ``repr`` of a return value put in logs and events.
    resultrepr_maxsize = 1024

    #: Base classes set this so that they are not registered as tasks.
    abstract = True

    _exec_options: dict[str, object] | None = None
    _backend: Backend | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Classes made by the @app.task decorator take these as options.
        if not cls.__dict__.get('_decorated'):
            _warn_routing_attributes(cls)

    # -- calling -------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        _task_stack.push(self)
        self.push_request(args=args, kwargs=kwargs)
        try:
            return self.run(*args, **kwargs)
        finally:
            self.pop_request()
            _task_stack.pop()

    def __reduce__(self) -> tuple[object, ...]:
        # A task pickles as its name; the receiver looks it up in its own registry.
        mod: str | None = type(self).__module__
        mod = mod if mod and mod in __import__('sys').modules else None
        from celery.app.registry import _unpickle_task_v2
        return (_unpickle_task_v2, (self.name, mod), None)

    def run(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """The work of the task; the ``@app.task`` decorator makes it the decorated function."""
        raise NotImplementedError('Tasks must define the run method.')

    def start_strategy(self, app: Celery, consumer: Consumer,
                       **kwargs: Any) -> Callable[..., object]:
        """Return the worker's message handler for this task."""
        from celery.utils.imports import instantiate
        handler: Callable[..., object] = instantiate(self.Strategy, self, app, consumer, **kwargs)
        return handler

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> AsyncResult[R]:
        """Send the task with these arguments: ``add.delay(2, 2)``."""
        return self.apply_async(args, kwargs)

    def apply_async(self, args: Sequence[Any] | None = None,
                    kwargs: Mapping[str, Any] | None = None, task_id: str | None = None,
                    producer: Producer | None = None,
                    link: Signature[Any] | Sequence[Signature[Any]] | None = None,
                    link_error: Signature[Any] | Sequence[Signature[Any]] | None = None,
                    shadow: str | None = None, **options: Any) -> AsyncResult[R]:
        """Send a message asking a worker to run the task; returns its :class:`AsyncResult`.

        With :setting:`task_always_eager` the task runs here instead (:meth:`apply`).
        """
        # A call that does not fit ``run`` fails here, not later in a worker.
        check_arguments = self.__header__ if self.typing else None
        if check_arguments is not None:
            check_arguments(*(args or ()), **(kwargs or {}))
        shadow = shadow or self.shadow_name(args, kwargs, options)
        # A new dict each call: the cached task options must never change.
        options = {**self._get_exec_options(), **options}
        options.setdefault('ignore_result', self.ignore_result)
        app = self._get_app()
        if publish_settings(app).always_eager:
            from celery.result import denied_join_result
            with denied_join_result():
                return self.apply(args, kwargs, task_id=task_id or uuid(),
                                  link=link, link_error=link_error, **options)

        soft, hard = options.get('soft_time_limit'), options.get('time_limit')
        if soft is not None and hard is not None and soft > hard:
            raise ValueError(
                f'soft_time_limit ({soft}) must be less than or equal to '
                f'time_limit ({hard}) for task {self.name}')

        return app.send_task(
            self._registered_name(), args, kwargs, task_id=task_id, producer=producer,
            link=link, link_error=link_error, result_cls=self.AsyncResult,
            shadow=shadow, task_type=self,
            **options
        )

    def _registered_name(self) -> str:
        if self.name is None:
            raise TypeError(f'{self!r} has no name: register it with an app first')
        return self.name

    def shadow_name(self, args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None,
                    options: Mapping[str, Any]) -> str | None:
        """Name shown for this call in worker logs and events (``None``: the task's name)."""
        return None

    def _get_exec_options(self) -> dict[str, object]:
        if self._exec_options is None:
            options = extract_exec_options(self)
            self._exec_options = {k: v for k, v in options.items() if v is not None}
        return self._exec_options

    def retry(self, args: Sequence[Any] | None = None, kwargs: Mapping[str, Any] | None = None,
              exc: BaseException | None = None, throw: bool = True,
              eta: datetime | None = None, countdown: float | None = None,
              max_retries: int | None = None, **options: Any) -> Retry:
        """Send the current request again, as its next attempt, and end this one.

        Raises :exc:`~celery.exceptions.Retry` (unless ``throw=False``) so
        the worker records the RETRY state.  Past ``max_retries`` it raises
        ``exc`` instead, or :exc:`~celery.exceptions.MaxRetriesExceededError`.
        """
        from celery.utils.serialization import raise_with_context
        request = self.request
        attempt = request.retries + 1
        if request.called_directly:
            # Called as a plain function: there is no message to re-send.
            raise_with_context(exc or Retry('Task can be retried', None))
        if not eta and countdown is None:
            countdown = self.default_retry_delay
        if args is not None or kwargs is not None:
            from celery.app.retry_args import retry_arguments
            args, kwargs = retry_arguments(self.run, request.args or (),
                                           request.kwargs or {}, args, kwargs)
        next_attempt = self.signature_from_request(
            request, args, kwargs, countdown=countdown, eta=eta, retries=attempt, **options)
        limit = self.max_retries if max_retries is None else max_retries
        if limit is not None and attempt > limit:
            self._give_up(request, next_attempt, exc)
        retry = Retry(exc=exc, when=eta or countdown, is_eager=request.is_eager,
                      sig=next_attempt)
        if not request.is_eager:
            # (An eager apply() runs the retry signature itself, in-process.)
            _send_next_attempt(next_attempt)
        if throw:
            raise retry
        return retry

    def _give_up(self, request: Context, next_attempt: Signature[Any],
                 exc: BaseException | None) -> NoReturn:
        from celery.utils.serialization import raise_with_context
        if exc:
            # autoretry_for must let this one through: the retries are over.
            request.retries_exhausted_by = exc
            raise_with_context(exc)
        # Celery's user-visible text, kept verbatim.
        raise self.MaxRetriesExceededError(
            f"Can't retry {self.name}[{request.id}] "
            f"args:{next_attempt.args} kwargs:{next_attempt.kwargs}",
            task_args=next_attempt.args, task_kwargs=next_attempt.kwargs)

    def apply(self, args: Sequence[Any] | None = None,
              kwargs: Mapping[str, Any] | None = None,
              link: Signature[Any] | Sequence[Signature[Any]] | None = None,
              link_error: Signature[Any] | Sequence[Signature[Any]] | None = None,
              task_id: str | None = None, retries: int | None = None,
              throw: bool | None = None, logfile: str | None = None,
              loglevel: int | None = None, headers: Mapping[str, object] | None = None,
              **options: Any) -> EagerResult[R]:
        """Run the task here and now, blocking until it returns, as a worker would."""
        from celery.app.trace import build_tracer
        from celery.result import EagerResult

        app = self._get_app()
        task_id = task_id or uuid()
        retries = retries or 0
        propagate = app.conf.task_eager_propagates if throw is None else throw
        request = {
            'id': task_id, 'task': self.name, 'retries': retries, 'is_eager': True,
            'logfile': logfile, 'loglevel': loglevel or 0,
            'hostname': app.conf.get('hostname') or _eager_hostname(),
            'callbacks': maybe_list(link), 'errbacks': maybe_list(link_error),
            'headers': headers, 'ignore_result': options.get('ignore_result', False),
            'delivery_info': {'is_eager': True, 'exchange': options.get('exchange'),
                              'routing_key': options.get('routing_key'),
                              'priority': options.get('priority')},
            'timelimit': (options.get('time_limit', self.time_limit),
                          options.get('soft_time_limit', self.soft_time_limit)),
            **_eager_lineage(task_id, options),
        }
        if 'stamped_headers' in options:
            request.update(_eager_stamps(options))
        # Trace the instance the app registered under this name, which ``self`` need not be.
        registered = app._tasks[self._registered_name()]
        tracer = build_tracer(registered._registered_name(), registered, eager=True,
                              propagate=propagate, app=app)
        traced = tracer(task_id, args or (), kwargs or {}, request)
        value, traceback = _value_and_traceback(traced.retval)
        if isinstance(value, Retry) and value.sig is not None:
            # Not sent anywhere: the next attempt runs here as well.
            retried: EagerResult[R] = value.sig.apply(retries=retries + 1)
            return retried
        state = states.SUCCESS if traced.info is None else traced.info.state
        # The traced return value of this task's function (R), or what it raised.
        outcome = cast('R | BaseException | None', value)
        return EagerResult(task_id, outcome, state, traceback=traceback, name=self.name)

    def AsyncResult(self, task_id: str, **kwargs: Any) -> AsyncResult[R]:
        """The result of the call of this task with id ``task_id``."""
        return self._get_app().AsyncResult(task_id, backend=self.backend,
                                           task_name=self.name, **kwargs)

    def send_event(self, type_: str, retry: bool = True,
                   retry_policy: dict[str, Any] | None = None,
                   **fields: Any) -> None:
        """Emit event ``type_`` about the current request (its id is added as ``uuid``)."""
        request = self.request
        if retry_policy is None:
            retry_policy = self.app.conf.task_publish_retry_policy
        with self.app.events.default_dispatcher(hostname=request.hostname) as dispatcher:
            dispatcher.send(type_, uuid=request.id, retry=retry,
                                   retry_policy=retry_policy, **fields)

    def update_state(self, task_id: str | None = None, state: str | None = None,
                     meta: object = None, **kwargs: Any) -> None:
        """Store ``state`` and ``meta`` for ``task_id`` (default: the current request)."""
        if task_id is None:
            task_id = self.request.id
        if task_id is None:
            raise ValueError('update_state needs a task_id outside of an executing task')
        self.backend.store_result(task_id, meta, states.PENDING if state is None else state,
                                  request=self.request, **kwargs)

    if TYPE_CHECKING:
        # The checker's view of TaskSignatures' methods, with this task's types.
        # ``s()`` takes any arguments: a partial signature (``add.s(2)`` in a
        # chain) gets the rest from the parent's result, and a checker cannot
        # tell a prefix of P.  ``si()`` is immutable, so its arguments are all.
        def s(self, *args: Any, **kwargs: Any) -> Signature[R]:
            """A signature of this task from star arguments: ``add.s(2, 2)``."""

        def si(self, *args: P.args, **kwargs: P.kwargs) -> Signature[R]:
            """Like :meth:`s`, but a parent's result is not prepended to the arguments."""

    # -- handlers --------------------------------------------------------------

    # The handlers get the call's arguments as the message carried them.

    def before_start(self, task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        """Hook: runs in the worker just before :meth:`run`."""

    def on_success(self, retval: R, task_id: str, args: Sequence[Any],
                   kwargs: Mapping[str, Any]) -> None:
        """Hook: runs after :meth:`run` returned ``retval``."""

    def on_retry(self, exc: BaseException | None, task_id: str, args: Sequence[Any],
                 kwargs: Mapping[str, Any], einfo: ExceptionInfo | None) -> None:
        """Hook: runs when the call ended in :meth:`retry`.

        ``exc`` is the one given to :meth:`retry` (None when none was); ``einfo``
        is None when the worker process running the task was lost.
        """

    def on_failure(self, exc: BaseException, task_id: str, args: Sequence[Any],
                   kwargs: Mapping[str, Any], einfo: ExceptionInfo) -> None:
        """Hook: runs when :meth:`run` raised ``exc``."""

    def after_return(self, status: str, retval: R | BaseException | None, task_id: str,
                     args: Sequence[Any], kwargs: Mapping[str, Any],
                     einfo: ExceptionInfo | None) -> None:
        """Hook: runs after every call that ended in SUCCESS or FAILURE."""

    def on_replace(self, sig: Signature[Any]) -> object:
        """Hook of :meth:`replace`: stamps and sends ``sig``.

        Eagerly executed tasks return the replacement's result; otherwise
        :exc:`~celery.exceptions.Ignore` is raised once ``sig`` is sent.
        """
        from celery.app.replace import stamp_replacement
        return stamp_replacement(self, sig)

    def __repr__(self) -> str:
        return _reprtask(self, R_INSTANCE)

    @property
    def backend(self) -> Backend:
        """The result backend of this task (the app's unless overridden)."""
        backend = self._backend
        if backend is None:
            return self.app.backend
        return backend

    @backend.setter
    def backend(self, value: Backend | None) -> None:
        self._backend = value

    @property
    def __name__(self) -> str:
        # The class's name; getattr: a checker would see this very property.
        name: str = getattr(type(self), '__name__')  # noqa: B009
        return name


#: Task class attributes Celery deprecates in favour of routes and calling options.
DEPRECATED_CLASS_ATTRIBUTES = ('queue', 'exchange', 'exchange_type', 'routing_key',
                               'delivery_mode', 'priority')


def _warn_routing_attributes(cls: type) -> None:
    import warnings

    from celery.exceptions import CDeprecationWarning
    for attr in DEPRECATED_CLASS_ATTRIBUTES:
        if cls.__dict__.get(attr) is not None:
            warnings.warn(CDeprecationWarning(
                f'Task class attribute {attr!r} ({cls.__qualname__}) is deprecated: '
                f'use task_routes or the {attr!r} option of apply_async instead.'),
                stacklevel=3)


def _eager_hostname() -> str:
    from celery.utils.nodenames import gethostname
    return gethostname()


def _send_next_attempt(next_attempt: Signature[Any]) -> None:
    try:
        next_attempt.apply_async()
    except Exception as publish_error:
        # Without its next attempt the task would silently stop: reject the
        # message being executed instead of acknowledging it as retried.
        raise Reject(publish_error, requeue=False) from publish_error


def _eager_lineage(task_id: str, options: Mapping[str, Any]) -> dict[str, Any]:
    # Called from another task (eager or in a worker): that one is the parent.
    from celery._state import get_current_task
    parent = get_current_task()
    parent_request = parent.request if parent is not None else None
    parent_id = options.get('parent_id') or (parent_request and parent_request.id)
    root_id = options.get('root_id') or (
        parent_request and (parent_request.root_id or parent_request.id)) or task_id
    return {'root_id': root_id, 'parent_id': parent_id}


def _eager_stamps(options: Mapping[str, Any]) -> dict[str, Any]:
    stamped_headers = maybe_list(options['stamped_headers'])
    return {'stamped_headers': stamped_headers,
            'stamps': {header: maybe_list(options.get(header, []))
                       for header in stamped_headers}}


def _value_and_traceback(retval: object) -> tuple[object, str | None]:
    # A traced failure comes back as ExceptionInfo: unwrap the exception itself.
    from billiard.einfo import ExceptionInfo, ExceptionWithTraceback
    if not isinstance(retval, ExceptionInfo):
        return retval, None
    exc = retval.exception
    if isinstance(exc, ExceptionWithTraceback):
        exc = exc.exc
    return exc, retval.traceback


#: Old name of :class:`Task`.
BaseTask = Task

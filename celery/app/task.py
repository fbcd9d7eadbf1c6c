"""Task implementation: the ``Task`` base class and its calling API."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery import states
from celery._state import LocalStack, _task_stack, get_current_app
from celery.app.context import Context
from celery.app.task_signatures import TaskSignatures
from celery.exceptions import MaxRetriesExceededError, Reject, Retry
from celery.utils import uuid
from celery.utils.functional import mattrgetter

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.result import AsyncResult, EagerResult

__all__ = ('Context', 'Task')

#: Publishing options taken from task attributes.  The routing attributes
#: (queue, exchange, routing_key, priority) are left to the router, which
#: ranks them below task_routes.
extract_exec_options = mattrgetter(
    'expires', 'serializer', 'delivery_mode', 'compression', 'time_limit',
    'soft_time_limit', 'immediate', 'mandatory',
)

#: Task attributes that take their default from the configuration on bind.
FROM_CONFIG = (
    ('serializer', 'task_serializer'),
    ('rate_limit', 'task_default_rate_limit'),
    ('priority', 'task_default_priority'),
    ('track_started', 'task_track_started'),
    ('acks_late', 'task_acks_late'),
    ('acks_on_failure_or_timeout', 'task_acks_on_failure_or_timeout'),
    ('acks_on_failure', 'task_acks_on_failure'),
    ('acks_on_timeout', 'task_acks_on_timeout'),
    ('reject_on_worker_lost', 'task_reject_on_worker_lost'),
    ('ignore_result', 'task_ignore_result'),
    ('store_eager_result', 'task_store_eager_result'),
    ('store_errors_even_if_ignored', 'task_store_errors_even_if_ignored'),
    ('time_limit', 'task_time_limit'),
    ('soft_time_limit', 'task_soft_time_limit'),
)

R_BOUND_TASK = '<class {0.__name__} of {app}{flags}>'
R_UNBOUND_TASK = '<unbound {0.__name__}{flags}>'
R_INSTANCE = '<@task: {0.name} of {app}{flags}>'


def _reprtask(task: Any, fmt: str | None = None, flags: str | None = None) -> str:
    flags = list(flags) if flags is not None else []
    flags.append('v2 compatible') if task.__v2_compat__ else None
    if not fmt:
        fmt = R_BOUND_TASK if task._app else R_UNBOUND_TASK
    return fmt.format(task, flags='|'.join(flags), app=task._app)


class TaskType(type):
    """Metaclass giving task classes a readable repr."""

    def __repr__(cls) -> str:
        return _reprtask(cls)


class Task(TaskSignatures, metaclass=TaskType):
    """Task base class.

    When called tasks apply the :meth:`run` method.  This method must
    be defined by all tasks (that is unless the :meth:`__call__` method
    is overridden).
    """

    __trace__: Any = None
    __v2_compat__ = False

    MaxRetriesExceededError = MaxRetriesExceededError

    #: Execution strategy used, or the qualified name of one.
    Strategy = 'celery.worker.strategy:default'

    #: Request class used, or the qualified name of one.
    Request = 'celery.worker.request:Request'

    #: The application instance associated with this task class.
    _app: Celery | None = None

    #: Name of the task.
    name: str | None = None

    #: Enable argument checking (``None``: the app's ``strict_typing``).
    typing: bool | None = None

    #: Maximum number of retries before giving up (``None``: retry forever).
    max_retries: int | None = 3

    #: Default time in seconds before a retry of the task should be executed.
    default_retry_delay = 3 * 60

    #: Rate limit for this task type, e.g. ``'10/m'`` (``None``: no limit).
    rate_limit: str | None = None

    #: If enabled the worker won't store task state and return values.
    ignore_result: bool | None = None

    #: If enabled the request will keep track of subtasks started by it.
    trail = True

    #: If enabled the worker will send monitoring events related to this task.
    send_events = True

    #: When enabled errors will be stored even if the task is otherwise configured to ignore results.
    store_errors_even_if_ignored: bool | None = None

    #: Store eagerly executed results in the backend.
    store_eager_result: bool | None = None

    #: The name of a serializer that are registered with :mod:`kombu.serialization.registry`.
    serializer: str | None = None

    #: Hard time limit in seconds (``None``: :setting:`task_time_limit`).
    time_limit: float | None = None

    #: Soft time limit in seconds (``None``: :setting:`task_soft_time_limit`).
    soft_time_limit: float | None = None

    #: The result store backend used for this task.
    backend_override: Any = None

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

    #: Expected exceptions: logged as errors without traceback.
    throws: tuple[type[BaseException], ...] = ()

    #: Default task expiry time in seconds or a datetime.
    expires: Any = None

    #: Default task priority.
    priority: int | None = None

    #: Max length of result representation used in logs and events.
    resultrepr_maxsize = 1024

    #: Task request stack: the current request is the top.
    request_stack: LocalStack | None = None

    #: Abstract tasks are not registered.
    abstract = True

    _default_request: Context | None = None
    _exec_options: dict[str, Any] | None = None
    _backend: Any = None

    # -- binding -------------------------------------------------------------

    @classmethod
    def bind(cls, app: Celery) -> Celery:
        """Bind this task class to ``app``, filling unset attributes from its configuration."""
        was_bound, cls.__bound__ = cls.__bound__, True
        cls._app = app
        conf = app.conf
        cls._exec_options = None  # clear option cache

        if cls.typing is None:
            cls.typing = app.strict_typing

        for attr_name, config_name in FROM_CONFIG:
            if getattr(cls, attr_name, None) is None:
                setattr(cls, attr_name, conf[config_name])

        # decorate with annotations from config.
        if not was_bound:
            cls.annotate()

            from celery.utils.threads import LocalStack as ThreadLocalStack
            cls.request_stack = ThreadLocalStack()

        cls.on_bound(app)

        return app

    __bound__ = False

    @classmethod
    def on_bound(cls, app: Celery) -> None:
        """Called when the task is bound to an app."""

    @classmethod
    def _get_app(cls) -> Celery:
        if cls._app is None:
            cls._app = get_current_app()
        if not cls.__bound__:
            # Tasks defined with a class-level `app` are bound on first use.
            cls.bind(cls._app)
        return cls._app

    @classmethod
    def _set_app(cls, app: Celery) -> None:
        cls.bind(app)

    @property
    def app(self) -> Celery:
        """The app this task belongs to."""
        return self._get_app()

    @classmethod
    def annotate(cls) -> None:
        """Apply :setting:`task_annotations` matching this task."""
        from celery.app.annotations import resolve_all
        for d in resolve_all(cls._app.annotations, cls):  # type: ignore[union-attr]
            for key, value in d.items():
                if key.startswith('@'):
                    cls.add_around(key[1:], value)
                else:
                    setattr(cls, key, value)

    @classmethod
    def add_around(cls, attr: str, around: Callable) -> None:
        """Wrap method ``attr`` with ``around(orig, *args, **kwargs)``."""
        orig = getattr(cls, attr)
        if getattr(orig, '__wrapped__', None):
            orig = orig.__wrapped__
        meth = around(orig)
        meth.__wrapped__ = orig
        setattr(cls, attr, meth)

    # -- calling -------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _task_stack.push(self)
        self.push_request(args=args, kwargs=kwargs)
        try:
            return self.run(*args, **kwargs)
        finally:
            self.pop_request()
            _task_stack.pop()

    def __reduce__(self) -> tuple:
        # A task pickles as its name; the receiver looks it up in its own registry.
        mod = type(self).__module__
        mod = mod if mod and mod in __import__('sys').modules else None
        from celery.app.registry import _unpickle_task_v2
        return (_unpickle_task_v2, (self.name, mod), None)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The body of the task executed by workers."""
        raise NotImplementedError('Tasks must define the run method.')

    def start_strategy(self, app: Celery, consumer: Any, **kwargs: Any) -> Callable:
        """Return the worker's message handler for this task."""
        from celery.utils.imports import instantiate
        return instantiate(self.Strategy, self, app, consumer, **kwargs)

    def delay(self, *args: Any, **kwargs: Any) -> AsyncResult:
        """Star argument version of :meth:`apply_async`."""
        return self.apply_async(args, kwargs)

    def apply_async(self, args: Any = None, kwargs: Any = None, task_id: str | None = None,
                    producer: Any = None, link: Any = None, link_error: Any = None,
                    shadow: str | None = None, **options: Any) -> AsyncResult:
        """Apply tasks asynchronously by sending a message."""
        if self.typing:
            try:
                check_arguments = self.__header__
            except AttributeError:  # pragma: no cover
                pass
            else:
                check_arguments(*(args or ()), **(kwargs or {}))

        shadow = shadow or self.shadow_name(args, kwargs, options)

        preopts = self._get_exec_options()
        options = dict(preopts, **options) if options else preopts

        options.setdefault('ignore_result', self.ignore_result)

        app = self._get_app()
        if app.conf.task_always_eager:
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
            self.name, args, kwargs, task_id=task_id, producer=producer,
            link=link, link_error=link_error, result_cls=self.AsyncResult,
            shadow=shadow, task_type=self,
            **options
        )

    def shadow_name(self, args: Any, kwargs: Any, options: dict[str, Any]) -> str | None:
        """Override for custom task name in worker logs/monitoring."""
        return None

    def _get_exec_options(self) -> dict[str, Any]:
        if self._exec_options is None:
            options = extract_exec_options(self)
            self._exec_options = {k: v for k, v in options.items() if v is not None}
        return self._exec_options

    def retry(self, args: Any = None, kwargs: Any = None, exc: BaseException | None = None,
              throw: bool = True, eta: Any = None, countdown: float | None = None,
              max_retries: int | None = None, **options: Any) -> Retry:
        """Retry the task, adding it to the back of the queue.

        Raises :exc:`~celery.exceptions.Retry` (unless ``throw=False``) so
        the worker records the RETRY state.
        """
        from celery.utils.serialization import raise_with_context
        request = self.request
        retries = request.retries + 1
        max_retries = self.max_retries if max_retries is None else max_retries

        if request.called_directly:
            # Called as a plain function: there is no message to re-send.
            raise_with_context(exc or Retry('Task can be retried', None))

        if not eta and countdown is None:
            countdown = self.default_retry_delay

        is_eager = request.is_eager
        S = self.signature_from_request(
            request, args, kwargs,
            countdown=countdown, eta=eta, retries=retries,
            **options
        )

        if max_retries is not None and retries > max_retries:
            if exc:
                raise_with_context(exc)
            raise self.MaxRetriesExceededError(
                f"Can't retry {self.name}[{request.id}] args:{S.args} kwargs:{S.kwargs}",
                task_args=S.args, task_kwargs=S.kwargs
            )

        ret = Retry(exc=exc, when=eta or countdown, is_eager=is_eager, sig=S)

        if is_eager:
            # apply() re-runs the retry signature itself, in-process.
            if throw:
                raise ret
            return ret

        try:
            S.apply_async()
        except Exception as publish_error:
            raise Reject(publish_error, requeue=False) from publish_error
        if throw:
            raise ret
        return ret

    def apply(self, args: Any = None, kwargs: Any = None, link: Any = None,
              link_error: Any = None, task_id: str | None = None, retries: int | None = None,
              throw: bool | None = None, logfile: str | None = None,
              loglevel: int | None = None, headers: dict | None = None,
              **options: Any) -> EagerResult:
        """Execute this task locally, by blocking until the task returns."""
        from celery.app.trace import build_tracer
        from celery.result import EagerResult
        from celery.utils.functional import maybe_list

        app = self._get_app()
        args = args or ()
        kwargs = kwargs or {}
        task_id = task_id or uuid()
        retries = retries or 0
        if throw is None:
            throw = app.conf.task_eager_propagates

        # Make sure we get the task instance, not class.
        task = app._tasks[self.name]

        request = {
            'id': task_id,
            'task': self.name,
            'retries': retries,
            'is_eager': True,
            'logfile': logfile,
            'loglevel': loglevel or 0,
            'hostname': app.conf.get('hostname') or _eager_hostname(),
            'callbacks': maybe_list(link),
            'errbacks': maybe_list(link_error),
            'headers': headers,
            'ignore_result': options.get('ignore_result', False),
            'delivery_info': {
                'is_eager': True,
                'exchange': options.get('exchange'),
                'routing_key': options.get('routing_key'),
                'priority': options.get('priority'),
            },
        }
        if 'stamped_headers' in options:
            request['stamped_headers'] = maybe_list(options['stamped_headers'])
            request['stamps'] = {
                header: maybe_list(options.get(header, [])) for header in request['stamped_headers']
            }

        from billiard.einfo import ExceptionInfo, ExceptionWithTraceback
        tb = None
        tracer = build_tracer(
            task.name, task, eager=True,
            propagate=throw, app=app,
        )
        ret = tracer(task_id, args, kwargs, request)
        retval = ret.retval
        if isinstance(retval, ExceptionInfo):
            retval, tb = retval.exception, retval.traceback
            if isinstance(retval, ExceptionWithTraceback):
                retval = retval.exc
        if isinstance(retval, Retry) and retval.sig is not None:
            return retval.sig.apply(retries=retries + 1)
        state = states.SUCCESS if ret.info is None else ret.info.state
        return EagerResult(task_id, retval, state, traceback=tb, name=self.name)

    def AsyncResult(self, task_id: str, **kwargs: Any) -> AsyncResult:
        """Get AsyncResult instance for the specified task."""
        return self._get_app().AsyncResult(task_id, backend=self.backend,
                                           task_name=self.name, **kwargs)

    def send_event(self, type_: str, retry: bool = True, retry_policy: dict | None = None,
                   **fields: Any) -> Any:
        """Send monitoring event message (adds the current task's ``uuid``)."""
        req = self.request
        if retry_policy is None:
            retry_policy = self.app.conf.task_publish_retry_policy
        with self.app.events.default_dispatcher(hostname=req.hostname) as d:
            return d.send(
                type_,
                uuid=req.id, retry=retry, retry_policy=retry_policy, **fields)

    def update_state(self, task_id: str | None = None, state: str | None = None,
                     meta: Any = None, **kwargs: Any) -> None:
        """Update task state (e.g. a custom ``PROGRESS`` state with ``meta``)."""
        if task_id is None:
            task_id = self.request.id
        self.backend.store_result(task_id, meta, state, request=self.request, **kwargs)

    # -- handlers --------------------------------------------------------------

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        """Handler called before the task starts."""

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        """Success handler."""

    def on_retry(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                 einfo: Any) -> None:
        """Retry handler."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                   einfo: Any) -> None:
        """Error handler."""

    def after_return(self, status: str, retval: Any, task_id: str, args: Any, kwargs: Any,
                     einfo: Any) -> None:
        """Handler called after the task returns."""

    def on_replace(self, sig: Any) -> Any:
        """Handler called when the task is replaced: stamps and sends ``sig``.

        Eagerly executed tasks return the replacement's result; otherwise
        :exc:`~celery.exceptions.Ignore` is raised once ``sig`` is sent.
        """
        from celery.app.replace import stamp_replacement
        return stamp_replacement(self, sig)

    def add_trail(self, result: Any) -> Any:
        """Remember ``result`` as a child of the current request (when ``trail`` is set)."""
        if self.trail:
            self.request.children.append(result)
        return result

    def push_request(self, *args: Any, **kwargs: Any) -> None:
        """Push a new request context for this task."""
        self.request_stack.push(Context(*args, **kwargs))

    def pop_request(self) -> None:
        """Pop the current request context."""
        self.request_stack.pop()

    def __repr__(self) -> str:
        """``repr(task)``."""
        return _reprtask(self, R_INSTANCE)

    def _get_request(self) -> Context:
        """Get current request object."""
        req = self.request_stack.top
        if req is None:
            # Outside execution `task.request` is an empty default context.
            if self._default_request is None:
                self._default_request = Context()
            return self._default_request
        return req

    request = property(_get_request)

    @property
    def backend(self) -> Any:
        """The result backend of this task (the app's unless overridden)."""
        backend = self._backend
        if backend is None:
            return self.app.backend
        return backend

    @backend.setter
    def backend(self, value: Any) -> None:
        self._backend = value

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return self.__class__.__name__


def _eager_hostname() -> str:
    from celery.utils.nodenames import gethostname
    return gethostname()


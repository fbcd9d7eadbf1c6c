"""Bootsteps: the ordered start-up and shutdown of worker and consumer components.

A :class:`Blueprint` collects :class:`Step` classes, orders them by their
``requires`` and drives their ``start``/``stop``/``terminate`` hooks.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol

from celery.exceptions import ImproperlyConfigured
from celery.utils.graph import DependencyGraph, GraphFormatter
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from typing import TypeAlias

    from kombu import Connection as KombuConnection, Consumer as KombuConsumer
    from kombu.transport.base import StdChannel

    # PEP 696 defaults: a bare ``Step`` or ``StartStopStep`` leaves the
    # parent and object types open; typing_extensions is not a run-time dependency.
    from typing_extensions import TypeVar

    from celery.worker.consumer.consumer import Consumer
    from celery.worker.worker import WorkController

    #: What a blueprint's steps belong to: the worker or its consumer.
    _Parent: TypeAlias = 'WorkController | Consumer'
    #: The parent a step class is written for (``Step[Consumer]``).
    ParentT = TypeVar('ParentT', bound='_HasSteps', default=Any)
    #: The object a :class:`StartStopStep` creates and drives.
    ObjT = TypeVar('ObjT', default=Any)
else:
    from typing import TypeVar

    ParentT = TypeVar('ParentT')
    ObjT = TypeVar('ObjT')

T = TypeVar('T')


__all__ = ('Blueprint', 'Step', 'StartStopStep', 'ConsumerStep', 'StepType',
           'RUN', 'CLOSE', 'TERMINATE')

logger = get_logger(__name__)

#: Blueprint states.
INIT, RUN, CLOSE, TERMINATE = 0, 1, 2, 3


def _shutdown_errors() -> tuple[type[BaseException], ...]:
    try:
        from greenlet import GreenletExit
    except ImportError:  # pragma: no cover - greenlet comes with the test requirements
        return (OSError, AttributeError)
    # Under eventlet/gevent the greenlet closing a channel may be killed.
    return (OSError, AttributeError, GreenletExit)


#: Errors a consumer step ignores while cancelling its consumers and closing
#: their channels (besides the connection's own errors): the link or the
#: greenlet doing the work may already be gone at shutdown.
IGNORE_ERRORS: tuple[type[BaseException], ...] = _shutdown_errors()


def _label(obj: object) -> str:
    # Steps (classes and instances) and blueprints: the last part of ``name``.
    return str(getattr(obj, 'name', '')).rsplit('.', 1)[-1]


def _load_step(ref: type[Step] | str, required_by: object = None) -> type[Step]:
    """Resolve a step class or a ``'module:Class'`` / ``'module.Class'`` string."""
    if not isinstance(ref, str):
        return ref
    from kombu.utils.imports import symbol_by_name
    try:
        step: type[Step] = symbol_by_name(ref)
        return step
    except (ImportError, AttributeError, ValueError) as exc:
        who = f' (required by {required_by})' if required_by is not None else ''
        raise ImproperlyConfigured(
            f'Cannot import bootstep {ref!r}{who}: {exc!r}. '
            'Check the module path and class name.') from exc


class StepFormatter(GraphFormatter):
    """Graph formatter that draws steps and blueprints differently."""

    blueprint_prefix = '⧉'
    conditional_prefix = '∘'
    blueprint_scheme: dict[str, object] = {'shape': 'parallelogram', 'color': 'slategray4', 'fillcolor': 'slategray3'}

    def label(self, step: object) -> str:
        """Show a step by its alias, with a marker for blueprints and conditional steps."""
        if step is None:
            return ''
        return f'{self._prefix(step)}{getattr(step, "label", None) or _label(step)}'

    def _prefix(self, step: object) -> str:
        if getattr(step, 'is_blueprint', False):
            return self.blueprint_prefix + ' '
        if getattr(step, 'conditional', False):
            return self.conditional_prefix + ' '
        return ''

    def node(self, obj: object, **attrs: Any) -> str:
        """Draw blueprints as parallelograms, steps as boxes."""
        scheme = self.blueprint_scheme if getattr(obj, 'is_blueprint', False) else self.node_scheme
        return self.draw_node(obj, scheme, attrs)

    def edge(self, a: object, b: object, **attrs: Any) -> str:
        """Draw edges between blueprints in a different color."""
        if getattr(a, 'is_blueprint', False):
            attrs.update(arrowhead='none', color='darkseagreen3')
        return self.draw_edge(a, b, self.edge_scheme, attrs)


class StepType(type):
    """Metaclass giving each step a module-qualified ``name``."""

    #: Read when a class lacks its own (every :class:`Step` has both).
    # Every Step has its own; the metaclass's are read only by other classes.
    name: str
    requires: Iterable[type[Step] | str]
    if not TYPE_CHECKING:
        name = requires = None

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, object]) -> StepType:
        module = attrs.get('__module__')
        qualified = f'{module}.{name}' if module else name
        attrs.setdefault('name', None)
        if not attrs['name']:
            attrs['name'] = qualified
        return super().__new__(mcs, name, bases, attrs)

    def __str__(cls) -> str:
        return cls.name

    def __repr__(cls) -> str:
        return f'step:{cls.name}{{{tuple(cls.requires)!r}}}'


class _HasSteps(Protocol):
    """What a step's parent has: the started steps (WorkController, Consumer)."""

    steps: list[Any]  # Step, of any parent type


class Step(Generic[ParentT], metaclass=StepType):
    """A component of a blueprint.

    Subclasses set ``requires`` to the steps that must start before them, and
    implement ``create`` (called once at blueprint apply time) and the
    lifecycle hooks their parent calls.
    """

    #: Module-qualified name, set by the metaclass unless given.
    name: str = ''
    #: Short name used in logs; defaults to the class name.
    label: str | None = None
    #: Set when ``include_if`` depends on the parent's configuration.
    conditional: bool = False
    #: Steps (classes or ``'module:Class'`` strings) that must start first.
    requires: Iterable[type[Step] | str] = ()
    #: Start after every other step of the blueprint.
    last: bool = False
    #: Included unless ``include_if`` says otherwise.
    enabled: bool = True

    def __init__(self, parent: ParentT, **kwargs: Any) -> None:
        pass

    def include_if(self, parent: ParentT) -> bool:
        """Return whether this step takes part in ``parent``'s blueprint."""
        return self.enabled

    def instantiate(self, name: Callable[..., T] | str, *args: Any, **kwargs: Any) -> T:
        """Import ``name`` (a class or ``'module:Class'``) and call it."""
        from kombu.utils.imports import symbol_by_name
        factory: Callable[..., T] = symbol_by_name(name)
        return factory(*args, **kwargs)

    def _should_include(self, parent: ParentT) -> tuple[bool, object]:
        if self.include_if(parent):
            return True, self.create(parent)
        return False, None

    def include(self, parent: ParentT) -> bool:
        """Create this step for ``parent`` if it is to be included.

        A plain step that defines ``start`` joins ``parent.steps`` so its
        lifecycle hooks run (the user-guide ``InfoStep`` pattern).
        """
        included = self._should_include(parent)[0]
        if included and callable(getattr(self, 'start', None)):
            parent.steps.append(self)
        return included

    def create(self, parent: ParentT) -> object:
        """Build whatever the step manages; the return value becomes ``obj``."""
        return None

    def info(self, parent: ParentT) -> Mapping[str, object] | None:
        """Return a mapping merged into the parent's ``stats`` output."""
        return None

    @property
    def alias(self) -> str:
        """Short name used in logs."""
        return self.label or _label(self)

    def __repr__(self) -> str:
        return f'<step: {self.alias}>'


class StartStopStep(Step[ParentT], Generic[ParentT, ObjT]):
    """A step that owns an object with ``start``/``stop``/``terminate`` methods."""

    #: The object returned by :meth:`create`, started and stopped with the parent.
    obj: ObjT | None = None

    def create(self, parent: ParentT) -> ObjT | None:
        """Build the object to start and stop with the parent (None: nothing to run)."""
        return None

    def start(self, parent: ParentT) -> object:
        """Start the managed object."""
        obj: Any = self.obj  # anything with start/stop methods
        if obj is not None:
            return obj.start()
        return None

    def stop(self, parent: ParentT) -> object:
        """Stop the managed object."""
        obj: Any = self.obj
        if obj is not None:
            return obj.stop()
        return None

    def close(self, parent: ParentT) -> None:
        """Hook called before stopping, in start order."""

    def terminate(self, parent: ParentT) -> object:
        """Terminate the managed object (falls back to ``stop``)."""
        obj: Any = self.obj
        if obj is not None:
            return getattr(obj, 'terminate', obj.stop)()
        return None

    def include(self, parent: ParentT) -> bool:
        """Create the object and register this step in ``parent.steps``."""
        if not self.include_if(parent):
            return False
        self.obj = self.create(parent)
        parent.steps.append(self)
        return True


class ConsumerStep(StartStopStep['Consumer', None]):
    """A step whose kombu consumers start and stop with the broker connection."""

    requires: Iterable[type[Step] | str] = ('celery.worker.consumer:Connection',)
    consumers: list[KombuConsumer] | None = None

    def get_consumers(self, channel: StdChannel) -> list[KombuConsumer]:
        """Return the kombu consumers to run on ``channel``."""
        raise NotImplementedError(f'{type(self).__name__} must implement get_consumers(channel)')

    def start(self, c: Consumer) -> None:
        """Open a channel on the consumer's connection and start consuming."""
        assert c.connection is not None  # the Connection step (required) connected it
        channel = c.connection.channel()
        self.consumers = self.get_consumers(channel)
        for consumer in self.consumers or ():
            consumer.consume()

    def stop(self, c: Consumer) -> None:
        """Cancel the consumers and close their channels (connection restart)."""
        self._close(c, cancel_consumers=True)

    def shutdown(self, c: Consumer) -> None:
        """Close the channels at worker shutdown."""
        self._close(c, cancel_consumers=False)

    def _close(self, c: Consumer, cancel_consumers: bool) -> None:
        connection = c.connection
        channels = set()
        for consumer in self.consumers or ():
            if cancel_consumers:
                _ignore_connection_errors(connection, consumer.cancel)
            if consumer.channel is not None:
                channels.add(consumer.channel)
        for channel in channels:
            _ignore_connection_errors(connection, channel.close)
        self.consumers = None


def _ignore_connection_errors(connection: KombuConnection | None,
                              fun: Callable[[], object]) -> None:
    # The connection may already be gone when a consumer restarts; failing to
    # cancel or close on a dead link is expected and must not abort shutdown.
    errors = (connection.connection_errors + connection.channel_errors) if connection else ()
    try:
        fun()
    except errors:
        pass
    except IGNORE_ERRORS:
        pass


class Blueprint:
    """An ordered collection of steps, started and stopped together."""

    GraphFormatter = StepFormatter
    #: Steps every instance includes (classes or ``'module:Class'`` strings).
    default_steps: Iterable[type[Step] | str] = set()
    name: str | None = None
    is_blueprint = True
    label: str | None = None
    state: int | None = None
    started = 0
    #: The word :meth:`human_state` says for each state.
    state_to_name = {INIT: 'initializing', RUN: 'running', CLOSE: 'closing',
                     TERMINATE: 'terminating'}

    def __init__(self, steps: Iterable[type[Step] | str] | None = None, name: str | None = None,
                 on_start: Callable[[], object] | None = None,
                 on_close: Callable[[], object] | None = None,
                 on_stopped: Callable[[], object] | None = None) -> None:
        self.name = name or self.name or f'{type(self).__module__}.{type(self).__qualname__}'
        self.types = _ordered([*_ordered(self.default_steps), *_ordered(steps or ())])
        self.on_start = on_start
        self.on_close = on_close
        self.on_stopped = on_stopped
        self.shutdown_complete = threading.Event()
        self.steps: dict[str, Step] = {}
        self.order: list[Step] = []
        self.graph: DependencyGraph[type[Step]] = DependencyGraph(formatter=self.GraphFormatter())

    def start(self, parent: _Parent) -> None:
        """Start every included step of ``parent`` in boot order."""
        self.state = RUN
        if self.on_start:
            self.on_start()
        self.started = 0
        for step in parent.steps:
            if step is None:
                continue
            self._debug('Starting %s', step.alias)
            # Counted before the step runs: stop() treats a blueprint whose
            # count falls short of its steps as never fully started.
            self.started += 1
            step.start(parent)
            logger.debug('^-- substep ok')

    def human_state(self) -> str:
        """Return the state as a word (``running``, ``closing``...)."""
        return self.state_to_name[self.state or INIT]

    def info(self, parent: _Parent) -> dict[str, object]:
        """Merge the ``info`` of every step of ``parent``."""
        merged: dict[str, object] = {}
        for step in parent.steps:
            merged.update(step.info(parent) or {})
        return merged

    def close(self, parent: _Parent) -> None:
        """Call ``close`` on every step, in start order."""
        if self.on_close:
            self.on_close()
        self.send_all(parent, 'close', 'closing', reverse=False)

    def restart(self, parent: _Parent, method: str = 'stop', description: str = 'restarting',
                propagate: bool = False) -> None:
        """Call ``method`` on every step in reverse order (used by stop and reconnect)."""
        self.send_all(parent, method, description, propagate=propagate)

    def send_all(self, parent: _Parent, method: str, description: str | None = None,
                 reverse: bool = True, propagate: bool = True, args: tuple[object, ...] = ()) -> None:
        """Call ``step.method(parent, *args)`` on every step that has it."""
        description = description or method.replace('_', ' ')
        steps = reversed(parent.steps) if reverse else parent.steps
        for step in steps:
            fun = getattr(step, method, None) if step is not None else None
            if fun is None:
                continue
            self._debug('%s %s...', description.capitalize(), step.alias)
            try:
                fun(parent, *args)
            except Exception as exc:
                if propagate:
                    raise
                logger.exception('Error on %s %s: %r', description, step.alias, exc)

    def stop(self, parent: _Parent, close: bool = True, terminate: bool = False) -> None:
        """Stop (or terminate) every started step in reverse boot order.

        A terminate asked for while a stop is under way (state CLOSE: a cold
        shutdown interrupting a warm one that waits for running tasks) goes on
        to terminate the steps; otherwise a second stop does nothing.
        """
        escalating = terminate and self.state == CLOSE
        if self.state == TERMINATE or (self.state == CLOSE and not escalating):
            return
        if not escalating and (self.state != RUN or self.started != len(parent.steps)):
            # Never fully started: there is nothing running to wind down.
            self.state = TERMINATE
            self.shutdown_complete.set()
            return
        if close and not escalating:
            self.close(parent)
        self.state = CLOSE
        what = 'terminating' if terminate else 'stopping'
        self.restart(parent, 'terminate' if terminate else 'stop', description=what, propagate=False)
        if self.on_stopped:
            self.on_stopped()
        self.state = TERMINATE
        self.shutdown_complete.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until shutdown completed; return whether it did."""
        return self.shutdown_complete.wait(timeout=timeout)

    def apply(self, parent: _Parent, **kwargs: Any) -> Blueprint:
        """Resolve the boot order, instantiate every step and include it in ``parent``.

        Steps added by the app (``parent.app.steps[<blueprint name>]``) join
        :attr:`types` here.
        """
        self._debug('Preparing bootsteps.')
        self.types = _ordered([*self.types, *self._app_steps(parent)])
        classes = self.claim_steps()
        self._debug('Building graph...')
        self.order = []
        for cls in self._finalize_steps(classes):
            step = cls(parent, **kwargs)
            self.steps[step.name] = step
            self.order.append(step)
        self._debug('New boot order: {%s}', ', '.join(s.alias for s in self.order))
        for step in self.order:
            step.include(parent)
        return self

    def _app_steps(self, parent: _Parent) -> list[type[Step] | str]:
        app_steps = getattr(getattr(parent, 'app', None), 'steps', None)
        if not app_steps or not self.name:
            return []
        return _ordered(app_steps.get(self.name.lower(), ()))

    def claim_steps(self) -> dict[str, type[Step]]:
        """Import this blueprint's step classes (:attr:`types`), keyed by name."""
        return dict(self.load_step(step) for step in self.types)

    def load_step(self, step: type[Step] | str) -> tuple[str, type[Step]]:
        """Import one step and return ``(name, class)``."""
        cls = _load_step(step)
        return cls.name, cls

    def _finalize_steps(self, classes: dict[str, type[Step]]) -> list[type[Step]]:
        self._resolve_requirements(classes)
        last = [cls for cls in classes.values() if cls.last]
        graph = self.graph = DependencyGraph(formatter=self.GraphFormatter(root=last[0] if last else None))
        for cls in classes.values():
            if not cls.last:
                graph.add_arc(cls)
                for dep in cls.requires:  # classes by now: _resolve_requirements loaded them
                    graph.add_edge(cls, _load_step(dep))
        for cls in last:
            graph.add_arc(cls)
            for other in list(graph):
                if other is not cls and not other.last:
                    graph.add_edge(cls, other)
        return graph.topsort()

    def _resolve_requirements(self, classes: dict[str, type[Step]]) -> None:
        # Requirements may be strings and may name steps not listed in the
        # blueprint: import them and pull them in transitively.
        pending = list(classes.values())
        while pending:
            cls = pending.pop()
            loaded = [_load_step(dep, required_by=cls) for dep in _ordered(cls.requires)]
            cls.requires = loaded
            for dep in loaded:
                if dep.name not in classes:
                    classes[dep.name] = dep
                    pending.append(dep)

    def connect_with(self, other: Blueprint) -> None:
        """Join ``other``'s graph to ours (used by ``celery graph bootsteps``)."""
        self.graph.connect(other.graph)
        self.graph.add_edge(type(other.order[0]), type(self.order[-1]))

    def __getitem__(self, name: str) -> Step:
        return self.steps[name]

    def _debug(self, msg: str, *args: object) -> None:
        logger.debug(f'| {self.alias}: {msg}', *args)

    @property
    def alias(self) -> str:
        """Short name used in logs."""
        return self.label or _label(self)


def _ordered(steps: Iterable[T]) -> list[T]:
    """Deduplicate preserving order; sets are sorted by name so boot order is stable."""
    if isinstance(steps, (set, frozenset)):
        steps = sorted(steps, key=str)
    return list(dict.fromkeys(steps))

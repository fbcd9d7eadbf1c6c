"""Push-based result consumers: ``get()`` blocks on messages instead of polling.

A backend mixes in :class:`AsyncBackendMixin` and provides a
:class:`BaseResultConsumer` subclass that listens for state messages
(redis pub/sub, the rpc reply queue).  A :class:`Drainer` runs the
consumer's event loop: inline for threads, in a green thread for
eventlet/gevent.
"""
from __future__ import annotations

import builtins
import socket
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from queue import Empty
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from celery import states
from celery.exceptions import TimeoutError
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from eventlet.greenthread import GreenThread
    from gevent import Greenlet
    from kombu.message import Message
    from vine import promise

    from celery.app.base import Celery
    from celery.backends.base import Backend, pending_results_t
    from celery.result import AsyncResult, GroupResult, ResultSet

    #: A result handle registered for pushed messages (returned as it is).
    AsyncResultT = TypeVar('AsyncResultT', bound='AsyncResult[Any]')
    #: A result handle unregistered (returned as it is).
    PendingT = TypeVar('PendingT', bound='AsyncResult[Any] | GroupResult')

__all__ = (
    'AsyncBackendMixin',
    'BaseResultConsumer',
    'Drainer',
    'MessageBuffer',
    'register_drainer',
)

logger = get_logger(__name__)

#: Longest timeout :meth:`threading.Event.wait` accepts on this platform.
THREAD_TIMEOUT_MAX = threading.TIMEOUT_MAX

E_RETRY_LIMIT_EXCEEDED = """
Retry limit exceeded while trying to reconnect to the Celery redis result store backend.
The Celery application must be restarted.
"""

E_CELERY_RESTART_REQUIRED = """
The result drainer was stopped (the result consumer is shut down):
the Celery application must be restarted to wait for results again.
"""

#: Drainer class per concurrency environment.
drainers: dict[str, type[Drainer]] = {}


def register_drainer(name: str) -> Callable[[type], type]:
    """Class decorator registering a :class:`Drainer` for an environment."""
    def _inner(cls: type) -> type:
        drainers[name] = cls
        return cls
    return _inner


def detect_environment() -> str:
    """``eventlet``, ``gevent`` or ``default`` depending on what monkey patched sockets."""
    module = getattr(socket.socket, '__module__', '') or ''
    if module.startswith('eventlet'):
        return 'eventlet'
    if module.startswith('gevent'):
        return 'gevent'
    return 'default'


class MessageBuffer:
    """Bounded map of task id → latest ready meta received before anyone asked."""

    def __init__(self, maxlen: int = 8192) -> None:
        self.maxlen = maxlen
        self._data: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Keep ``value`` for ``key``, dropping the oldest entry when full."""
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxlen:
            self._data.popitem(last=False)

    def take(self, key: str) -> dict[str, Any]:
        """Remove and return the value for ``key``; :exc:`queue.Empty` if none."""
        try:
            return self._data.pop(key)
        except KeyError:
            raise Empty() from None

    def peek(self, key: str) -> dict[str, Any] | None:
        """Return the value for ``key`` without removing it (``None`` if none)."""
        return self._data.get(key)

    def __len__(self) -> int:
        return len(self._data)


@register_drainer('default')
class Drainer:
    """Drains the consumer's events in the calling thread until a promise is ready."""

    def __init__(self, result_consumer: BaseResultConsumer) -> None:
        self.result_consumer = result_consumer

    def start(self) -> None:
        """Nothing to start for the inline drainer."""

    def stop(self) -> None:
        """Nothing to stop for the inline drainer."""

    def drain_events_until(self, p: promise, timeout: float | None = None, interval: float = 1,
                           on_interval: Callable[[], object] | None = None,
                           wait: Callable[..., object] | None = None) -> Iterator[object]:
        """Yield after each drain until ``p`` is ready; ``socket.timeout`` after ``timeout``."""
        wait = wait or self.result_consumer.drain_events
        deadline = None if timeout is None else time.monotonic() + timeout
        # A result already read (e.g. stored before we subscribed) needs no wait.
        while not p.ready:
            step = interval
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise builtins.TimeoutError()
                step = min(interval, remaining)
            try:
                yield self.wait_for(p, wait, timeout=step)
            except builtins.TimeoutError:
                pass
            if on_interval:
                on_interval()

    def wait_for(self, p: promise, wait: Callable[..., object],
                 timeout: float | None = None) -> object:
        """Drain once (blocking at most ``timeout``)."""
        return wait(timeout=timeout)


class GreenletDrainer(Drainer):
    """Drains in one background green thread; waiters sleep on an event.

    Only the draining green thread reads the consumer's socket: green hubs
    refuse two simultaneous readers of one socket.
    """

    #: Starts a green thread running a function (set by each green library's drainer).
    spawn: Callable[..., Any] | None = None
    _event_class: Callable[[], Any]
    _g: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started = False
        self._stopped = False
        #: (event of the round that failed, the error), handed to its waiters.
        self._failure: tuple[Any, BaseException | None] = (None, None)
        self._shutdown = threading.Event()
        self._new_event()

    def _new_event(self) -> None:
        self._drain_complete_event = self._event_class()

    def _wake_waiters(self) -> None:
        event = self._drain_complete_event
        self._new_event()
        event.set()

    def run(self) -> None:
        """Drain until stopped, waking waiters after each round (and on failure)."""
        try:
            while not self._stopped:
                try:
                    self.result_consumer.drain_events(timeout=1)
                except builtins.TimeoutError:
                    pass
                self._wake_waiters()
        except Exception as exc:
            # Hand the error to the waiters: a dead drainer must not leave
            # them sleeping until their timeout.  The next wait restarts it.
            logger.exception('Result drainer stopped by an error')
            self._started = False
            self._failure = (self._drain_complete_event, exc)
            self._wake_waiters()
        finally:
            self._shutdown.set()

    def start(self) -> None:
        """Spawn the draining green thread unless it runs already."""
        if not self._started:
            # Mark first: spawning yields, and another waiter calling start()
            # meanwhile must not spawn a second reader of the same socket.
            self._started = True
            self._shutdown.clear()
            spawn = self.spawn
            if spawn is None:
                raise NotImplementedError(f'{type(self).__name__} has no spawn method')
            self._g = spawn(self.run)

    def stop(self) -> None:
        """Stop draining and wait for the green thread to finish."""
        self._stopped = True
        if self._started:
            self._shutdown.wait(10)

    def wait_for(self, p: promise, wait: Callable[..., object],
                 timeout: float | None = None) -> None:
        """Sleep until the next drain round completes; raise the drainer's error if it died."""
        if self._stopped:
            from celery.exceptions import BackendError
            raise BackendError(E_CELERY_RESTART_REQUIRED.strip())
        # Taken before starting: spawning yields, and the round may end meanwhile.
        event = self._drain_complete_event
        self.start()
        if p.ready:
            return
        event.wait(timeout=timeout)
        failed_event, error = self._failure
        if failed_event is event and not p.ready:
            raise error  # type: ignore[misc]


class EventletAdaptedEvent:
    """A :class:`threading.Event` look-alike over eventlet's one-shot event."""

    def __init__(self) -> None:
        from eventlet.event import Event
        self._event = Event()

    def is_set(self) -> bool:
        """Whether :meth:`set` was called."""
        ready: bool = self._event.ready()
        return ready

    def set(self) -> None:
        """Wake every waiter (once; later calls do nothing)."""
        if not self._event.ready():
            self._event.send()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until set or ``timeout`` seconds passed; return whether it is set."""
        from eventlet import Timeout
        with Timeout(timeout, False):
            self._event.wait()
        return self.is_set()


@register_drainer('eventlet')
class EventletDrainer(GreenletDrainer):
    """Greenlet drainer for eventlet."""

    def spawn(self, func: Callable[[], object]) -> GreenThread:
        """Start ``func`` in an eventlet green thread."""
        from eventlet import sleep, spawn
        g = spawn(func)
        sleep(0)
        return g

    @staticmethod
    def _event_class() -> Any:
        return EventletAdaptedEvent()


@register_drainer('gevent')
class GeventDrainer(GreenletDrainer):
    """Greenlet drainer for gevent."""

    def spawn(self, func: Callable[[], object]) -> Greenlet:
        """Start ``func`` in a gevent greenlet."""
        import gevent
        g = gevent.spawn(func)
        gevent.sleep(0)
        return g

    @staticmethod
    def _event_class() -> Any:
        from gevent.event import Event
        return Event()


# Celery's spellings of the drainer classes.
greenletDrainer = GreenletDrainer
eventletDrainer = EventletDrainer
geventDrainer = GeventDrainer


class AsyncBackendMixin:
    """Backend methods for push-based results (needs ``self.result_consumer``)."""

    result_consumer: BaseResultConsumer

    if TYPE_CHECKING:
        # Provided by :class:`~celery.backends.base.Backend`, which this is mixed with.
        _pending_results: pending_results_t
        _pending_messages: MessageBuffer

        def _ensure_not_eager(self) -> None: ...

    def _collect_into(self, result: AsyncResult[Any], bucket: deque[Any]) -> None:
        self.result_consumer.buckets[result] = bucket

    def iter_native(self, result: ResultSet, no_ack: bool = True,
                    **kwargs: Any) -> Iterator[tuple[str | None, Any]]:
        """Yield ``(task_id, meta)`` for the members of ``result`` as messages arrive."""
        self._ensure_not_eager()
        results = result.results
        if not results:
            return
        bucket: deque[Any] = deque()
        from celery.result import AsyncResult
        for node in results:
            # Members that are groups are yielded as they are, not waited on.
            if not isinstance(node, AsyncResult) or node._cache:
                bucket.append(node)
                continue
            # Listen again if an earlier wait gave up (or nothing listened yet).
            self.add_pending_result(node)
            if node._cache:
                bucket.append(node)
            else:
                self._collect_into(node, bucket)
        try:
            for _ in self._wait_for_pending(result, no_ack=no_ack, **kwargs):
                while bucket:
                    yield self._bucket_item(bucket.popleft())
        except (TimeoutError, GeneratorExit):
            # The caller stopped waiting: leave no subscriptions behind.
            self._stop_waiting_for(results)
            raise
        while bucket:
            yield self._bucket_item(bucket.popleft())

    def _stop_waiting_for(self, results: Any) -> None:
        for node in results:
            if hasattr(node, '_cache') and not node._cache:
                self.remove_pending_result(node)

    @staticmethod
    def _bucket_item(node: Any) -> tuple[str | None, Any]:
        if not hasattr(node, '_cache'):
            return node.id, node.children
        return node.id, node._cache

    def add_pending_result(self, result: AsyncResultT, weak: bool = False,
                           start_drainer: bool = True) -> AsyncResultT:
        """Start listening for ``result`` (or resolve it from buffered messages)."""
        if start_drainer:
            self.result_consumer.drainer.start()
        if result.id is None:
            raise ValueError('Cannot wait for a result without a task id')
        try:
            result._maybe_set_cache(self._pending_messages.take(result.id))
        except Empty:
            self._add_pending_result(result.id, result, weak=weak)
        return result

    def _add_pending_result(self, task_id: str, result: Any, weak: bool = False) -> None:
        concrete, weak_ = self._pending_results
        existing = concrete.get(task_id) or weak_.get(task_id)
        if existing is None:
            (weak_ if weak else concrete)[task_id] = result
            self.result_consumer.consume_from(task_id)
        elif existing is not result:
            # Another handle for the same id already waits: fulfil both.
            self.result_consumer.add_duplicate(task_id, result)

    def add_pending_results(self, results: Iterable[AsyncResultT],
                            weak: bool = False) -> list[AsyncResultT]:
        """Listen for several results."""
        self.result_consumer.drainer.start()
        return [self.add_pending_result(result, weak=weak, start_drainer=False)
                for result in results]

    def remove_pending_result(self, result: PendingT) -> PendingT:
        """Stop listening for ``result`` (another handle registered for its id keeps listening)."""
        registered = [m for m in self._pending_results if m.get(result.id) is result]
        if registered or not any(result.id in m for m in self._pending_results):
            # A short-lived duplicate handle (canvas freezing makes many) must
            # not cancel the subscription of the handle someone waits on.
            for mapping in registered:
                mapping.pop(result.id, None)
            self.on_result_fulfilled(result)
        return result

    def on_result_fulfilled(self, result: AsyncResult[Any] | GroupResult) -> None:
        """The result is ready: stop consuming its messages."""
        if result.id is not None:  # a group never saved has nothing to cancel
            self.result_consumer.cancel_for(result.id)

    def wait_for_pending(self, result: AsyncResult[Any],
                         callback: Callable[..., Any] | None = None,
                         propagate: bool = True, **kwargs: Any) -> object:
        """Block on pushed messages until ``result`` is ready; return or raise its value."""
        self._ensure_not_eager()
        try:
            for _ in self._wait_for_pending(result, **kwargs):
                pass
        except TimeoutError:
            # Stop listening: a later get() registers (and re-reads) afresh.
            self.remove_pending_result(result)
            raise
        # The value, or the exception when it failed and ``propagate`` is off.
        return result.maybe_throw(callback=callback, propagate=propagate)

    def _wait_for_pending(self, result: Any, timeout: float | None = None,
                          on_interval: Callable[[], Any] | None = None,
                          on_message: Callable[..., Any] | None = None,
                          **kwargs: Any) -> Iterator[None]:
        return self.result_consumer._wait_for_pending(
            result, timeout=timeout, on_interval=on_interval, on_message=on_message, **kwargs)

    @property
    def is_async(self) -> bool:
        """Push-based backends are async."""
        return True


class BaseResultConsumer:
    """Receives state messages and fulfils the matching pending results."""

    def __init__(self, backend: Backend, app: Celery, accept: set[str] | None,
                 pending_results: pending_results_t,
                 pending_messages: MessageBuffer) -> None:
        self.backend = backend
        self.app = app
        self.accept = accept
        self._pending_results = pending_results
        self._pending_messages = pending_messages
        self.on_message: Callable[..., Any] | None = None
        self.buckets: WeakKeyDictionary[Any, deque[Any]] = WeakKeyDictionary()
        self._duplicates: dict[str, list[weakref.ref[Any]]] = {}
        #: Set while there is something to consume: an idle green drainer
        #: sleeps on it, so the first subscription wakes it at once.
        self._has_work = threading.Event()
        self.drainer = drainers[detect_environment()](self)

    def start(self, initial_task_id: str, **kwargs: Any) -> None:
        """Start consuming, beginning with ``initial_task_id``."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop consuming."""

    def drain_events(self, timeout: float | None = None) -> None:
        """Process incoming messages, blocking at most ``timeout`` seconds."""
        raise NotImplementedError

    def consume_from(self, task_id: str) -> None:
        """Listen for messages about ``task_id``."""
        raise NotImplementedError

    def wait_for_work(self, timeout: float | None) -> None:
        """Nothing to drain yet: sleep at most ``timeout`` or until something is consumed."""
        if self._has_work.is_set():
            # Consuming started a moment ago: yield briefly instead of spinning.
            time.sleep(0.001)
        elif timeout:
            self._has_work.wait(timeout)

    def cancel_for(self, task_id: str) -> None:
        """Stop listening for ``task_id``."""
        raise NotImplementedError

    @contextmanager
    def reconnect_on_error(self) -> Iterator[None]:
        """Run a block that uses the connection (consumers that can reconnect override this)."""
        yield

    def add_duplicate(self, task_id: str, result: AsyncResult[Any] | GroupResult) -> None:
        """Fulfil ``result`` too when ``task_id`` becomes ready."""
        refs = self._duplicates.setdefault(task_id, [])
        if not any(ref() is result for ref in refs):
            refs.append(weakref.ref(result))

    def _after_fork(self) -> None:
        self.buckets = WeakKeyDictionary()
        self.on_message = None
        self.on_after_fork()

    def on_after_fork(self) -> None:
        """Drop connections inherited from the parent."""

    def drain_events_until(self, p: promise, timeout: float | None = None,
                           on_interval: Callable[[], object] | None = None) -> Iterator[object]:
        """Drain until ``p`` is ready."""
        return self.drainer.drain_events_until(p, timeout=timeout, on_interval=on_interval)

    def _wait_for_pending(self, result: Any, timeout: float | None = None,
                          on_interval: Callable[[], Any] | None = None,
                          on_message: Callable[..., Any] | None = None,
                          **kwargs: Any) -> Iterator[None]:
        self.on_wait_for_pending(result, timeout=timeout, **kwargs)
        prev_on_m, self.on_message = self.on_message, on_message
        try:
            for _ in self.drain_events_until(result.on_ready, timeout=timeout,
                                             on_interval=on_interval):
                yield
        except builtins.TimeoutError:
            raise TimeoutError('The operation timed out.') from None
        finally:
            self.on_message = prev_on_m

    def on_wait_for_pending(self, result: AsyncResult[Any] | ResultSet,
                            timeout: float | None = None,
                            **kwargs: Any) -> None:
        """Hook run before waiting (redis re-reads results stored before subscribing)."""

    def on_out_of_band_result(self, message: Message) -> None:
        """A message for a result nobody waits on yet."""
        self.on_state_change(message.payload, message)

    def _get_pending_result(self, task_id: str) -> Any:
        for mapping in self._pending_results:
            try:
                return mapping[task_id]
            except KeyError:
                pass
        raise KeyError(task_id)

    def on_state_change(self, meta: dict[str, Any], message: Message | None) -> None:
        """Fulfil the waiting result when ``meta`` is a ready state (else buffer it)."""
        if self.on_message:
            self.on_message(meta)
        if meta['status'] in states.READY_STATES:
            task_id = meta['task_id']
            try:
                result = self._get_pending_result(task_id)
            except KeyError:
                # Nobody waits on it (yet): keep it for a later add_pending_result.
                self._pending_messages.put(task_id, meta)
            else:
                result._maybe_set_cache(meta)
                bucket = self.buckets.pop(result, None)
                if bucket is not None:
                    bucket.append(result)
                for ref in self._duplicates.pop(task_id, ()):
                    duplicate = ref()
                    if duplicate is not None:
                        duplicate._maybe_set_cache(dict(meta))

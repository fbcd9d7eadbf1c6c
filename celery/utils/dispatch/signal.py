"""Observer pattern: a :class:`Signal` calls every connected receiver when sent."""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, Union, overload

from celery.utils.log import get_logger

__all__ = ('Signal',)

logger = get_logger(__name__)

#: A receiver: called as ``receiver(signal=signal, sender=sender, **named)``.
Receiver = Callable[..., object]
LookupKey = tuple[Hashable, Hashable]
#: How a receiver is kept: weakly (functions, bound methods) or as is.
_Kept = Union[Receiver, 'weakref.ReferenceType[Receiver]']
F = TypeVar('F', bound=Callable[..., object])

RECEIVER_RETRY_ERROR = """\
Could not process signal receiver %(receiver)s. Retrying %(when)s...\
"""


def _make_id(target: object) -> Hashable:
    """Identify ``target``: by value for strings (task names), else by identity."""
    if isinstance(target, (str, bytes)):
        return target
    unwrap = getattr(type(target), '_get_current_object', None)
    if unwrap is not None:
        # ``@app.task`` may return a lazy proxy: identify the task behind it.
        target = unwrap(target)
    func = getattr(target, '__func__', None)
    if func is not None:
        # Bound methods are recreated on every attribute access.
        return (id(getattr(target, '__self__', None)), id(func))
    return id(target)


NONE_ID = _make_id(None)

#: Cached (``use_caching``) for a sender no receiver listens to, so that
#: sending to it again needs no search.
NO_RECEIVERS = object()


def _make_lookup_key(receiver: Receiver | None, sender: object,
                     dispatch_uid: Hashable | None) -> LookupKey:
    if dispatch_uid:
        return (dispatch_uid, _make_id(sender))
    return (_make_id(receiver), _make_id(sender))


def _retrying(receiver: Receiver) -> Receiver:
    """Wrap ``receiver`` so that errors make it retry with back-off until it succeeds."""
    def on_error(exc: BaseException, intervals: Iterator[float], retries: int) -> float:
        interval = next(intervals)
        logger.error(RECEIVER_RETRY_ERROR,
                     {'receiver': receiver, 'when': f'in {interval:.2f}s'})
        return interval

    def retrying_receiver(*args: Any, **kwargs: Any) -> object:
        from kombu.utils.functional import retry_over_time
        response: object = retry_over_time(receiver, Exception, args, kwargs, on_error)
        return response

    retrying_receiver.__wrapped__ = receiver  # type: ignore[attr-defined]
    return retrying_receiver


class Signal:
    """A notification that any number of receivers can subscribe to.

    Receivers are called as ``receiver(signal=signal, sender=sender, **named)``.
    """

    #: Not used for dispatch, kept to document what a signal sends.
    providing_args: frozenset[str]
    #: ``[(lookup key, receiver or weak reference), ...]``; every instance has its own.
    receivers: list[tuple[LookupKey, _Kept]]
    if not TYPE_CHECKING:
        receivers = None

    def __init__(self, providing_args: Iterable[str] | None = None, use_caching: bool = False,
                 name: str | None = None) -> None:
        self.receivers = []
        self.providing_args = frozenset(providing_args or ())
        self.use_caching = use_caching
        self.name = name
        self.lock = threading.Lock()
        # Only consulted when ``use_caching`` is set: sender id -> receivers.
        self.sender_receivers_cache: dict[Hashable, list[Receiver] | object] = {}
        self._dead_receivers = False

    @overload
    def connect(self, receiver: F, **options: Any) -> F: ...
    @overload
    def connect(self, **options: Any) -> Callable[[F], F]: ...

    def connect(self, *args: Any, **kwargs: Any) -> Callable[..., object]:
        """Connect a receiver; without one, return a decorator that does.

        Arguments: ``(receiver=None, sender=None, weak=True, dispatch_uid=None,
        retry=False)``.  Usable as ``@signal.connect`` or
        ``@signal.connect(sender=...)``.  ``retry=True`` keeps retrying a failing
        receiver with back-off (and keeps a strong reference to it).
        """
        return self._connect_or_decorate(*args, **kwargs)

    def _connect_or_decorate(self, receiver: object = None, sender: object = None,
                             weak: bool = True, dispatch_uid: Hashable | None = None,
                             retry: bool = False) -> Callable[..., object]:
        if receiver is not None and not callable(receiver):
            # Old positional form: ``signal.connect(sender)`` used as decorator.
            receiver, sender = None, receiver

        def connect_receiver(fun: Receiver) -> Receiver:
            self._connect(fun, sender, weak, dispatch_uid, retry)
            return fun

        if receiver is None:
            return connect_receiver
        return connect_receiver(receiver)

    def _connect(self, receiver: Receiver, sender: object, weak: bool,
                 dispatch_uid: Hashable | None, retry: bool) -> None:
        if not callable(receiver):
            raise TypeError(f'Signal receiver must be callable, got {receiver!r}')
        lookup_key = _make_lookup_key(receiver, sender, dispatch_uid)
        if retry:
            receiver, weak = _retrying(receiver), False
        ref: _Kept = receiver
        if weak:
            ref = self._weak_ref(receiver)
        with self.lock:
            self._clear_dead_receivers()
            if not any(key == lookup_key for key, _ in self.receivers):
                # Copy on write: a concurrent ``send`` keeps iterating its snapshot.
                self.receivers = [*self.receivers, (lookup_key, ref)]
            self.sender_receivers_cache.clear()

    def _weak_ref(self, receiver: Receiver) -> _Kept:
        if hasattr(receiver, '__self__') and hasattr(receiver, '__func__'):
            return weakref.WeakMethod(receiver, self._remove_receiver)
        try:
            return weakref.ref(receiver, self._remove_receiver)
        except TypeError:
            # Builtins can't be weakly referenced; they live forever anyway.
            return receiver

    def _remove_receiver(self, _ref: object = None) -> None:
        # Called from the GC; only flag it, the list is pruned under the lock later.
        self._dead_receivers = True

    def disconnect(self, receiver: Receiver | None = None, sender: object = None,
                   weak: bool | None = None, dispatch_uid: Hashable | None = None) -> bool:
        """Disconnect ``receiver`` (or the one with ``dispatch_uid``); True if found."""
        lookup_key = _make_lookup_key(receiver, sender, dispatch_uid)
        with self.lock:
            self._clear_dead_receivers()
            for index, (key, _) in enumerate(self.receivers):
                if key == lookup_key:
                    self.receivers = self.receivers[:index] + self.receivers[index + 1:]
                    self.sender_receivers_cache.clear()
                    return True
        return False

    def has_listeners(self, sender: object = None) -> bool:
        """Return True if any receiver would be called for ``sender``."""
        return bool(self._live_receivers(sender))

    def send(self, sender: object, **named: Any) -> list[tuple[Receiver, object]]:
        """Call every matching receiver; return ``[(receiver, response), ...]``.

        A receiver that raises does not stop the others: the error is logged and
        the exception object takes the place of its response.
        """
        if not self.receivers:
            return []
        responses: list[tuple[Receiver, object]] = []
        for receiver in self._live_receivers(sender):
            try:
                response = receiver(signal=self, sender=sender, **named)
            except Exception as exc:  # a broken receiver must not break the sender
                logger.exception('Signal handler %r raised: %r', receiver, exc)  # noqa: TRY401
                responses.append((receiver, exc))
            else:
                responses.append((receiver, response))
        return responses

    send_robust = send

    def _live_receivers(self, sender: object) -> list[Receiver]:
        if self._dead_receivers:
            with self.lock:
                self._clear_dead_receivers()
        sender_key = _make_id(sender)
        if self.use_caching:
            cached = self.sender_receivers_cache.get(sender_key)
            if cached is NO_RECEIVERS:
                return []
            if isinstance(cached, list):
                return cached
        receivers: list[Receiver] = []
        for (_, receiver_sender_key), ref in self.receivers:
            if receiver_sender_key in (NONE_ID, sender_key):
                receiver = ref() if isinstance(ref, weakref.ref) else ref
                if receiver is not None:
                    receivers.append(receiver)
        if self.use_caching:
            self.sender_receivers_cache[sender_key] = receivers or NO_RECEIVERS
        return receivers

    def _clear_dead_receivers(self) -> None:
        if self._dead_receivers:
            self._dead_receivers = False
            self.receivers = [
                (key, ref) for key, ref in self.receivers
                if not (isinstance(ref, weakref.ref) and ref() is None)
            ]
            self.sender_receivers_cache.clear()

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.name} providing_args={set(self.providing_args)!r}>'

    __str__ = __repr__

"""Observer pattern: a :class:`Signal` calls every connected receiver when sent."""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from celery.utils.log import get_logger

__all__ = ('Signal',)

logger = get_logger(__name__)

Receiver = Callable[..., Any]
LookupKey = tuple[Hashable, Hashable]

RECEIVER_RETRY_ERROR = """\
Could not process signal receiver %(receiver)s. Retrying %(when)s...\
"""


def _make_id(target: Any) -> Hashable:
    """Identify ``target``: by value for strings (task names), else by identity."""
    if isinstance(target, (str, bytes)):
        return target
    unwrap = getattr(type(target), '_get_current_object', None)
    if unwrap is not None:
        # ``@app.task`` may return a lazy proxy: identify the task behind it.
        target = unwrap(target)
    if hasattr(target, '__func__'):
        # Bound methods are recreated on every attribute access.
        return (id(target.__self__), id(target.__func__))
    return id(target)


NONE_ID = _make_id(None)

#: Cached (``use_caching``) for a sender no receiver listens to, so that
#: sending to it again needs no search.
NO_RECEIVERS = object()


def _make_lookup_key(receiver: Receiver, sender: Any, dispatch_uid: Hashable | None) -> LookupKey:
    if dispatch_uid:
        return (dispatch_uid, _make_id(sender))
    return (_make_id(receiver), _make_id(sender))


def _retrying(receiver: Receiver) -> Receiver:
    """Wrap ``receiver`` so that errors make it retry with back-off until it succeeds."""
    def on_error(exc: BaseException, intervals: Any, retries: int) -> float:
        interval = next(intervals)
        logger.error(RECEIVER_RETRY_ERROR,
                     {'receiver': receiver, 'when': f'in {interval:.2f}s'})
        return interval

    def retrying_receiver(*args: Any, **kwargs: Any) -> Any:
        from kombu.utils.functional import retry_over_time
        return retry_over_time(receiver, Exception, args, kwargs, on_error)

    retrying_receiver.__wrapped__ = receiver  # type: ignore[attr-defined]
    return retrying_receiver


class Signal:
    """A notification that any number of receivers can subscribe to.

    Receivers are called as ``receiver(signal=signal, sender=sender, **named)``.
    """

    #: Not used for dispatch, kept to document what a signal sends.
    providing_args: frozenset[str]
    #: ``[(lookup key, receiver or weak reference), ...]``; every instance has its own.
    receivers: list[tuple[LookupKey, Any]] | None = None

    def __init__(self, providing_args: Any = None, use_caching: bool = False,
                 name: str | None = None) -> None:
        self.receivers: list[tuple[LookupKey, Any]] = []
        self.providing_args = frozenset(providing_args or ())
        self.use_caching = use_caching
        self.name = name
        self.lock = threading.Lock()
        # Only consulted when ``use_caching`` is set: sender id -> receivers.
        self.sender_receivers_cache: dict[Hashable, Any] = {}
        self._dead_receivers = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        """Connect a receiver; without one, return a decorator that does.

        Arguments: ``(receiver=None, sender=None, weak=True, dispatch_uid=None,
        retry=False)``.  Usable as ``@signal.connect`` or
        ``@signal.connect(sender=...)``.  ``retry=True`` keeps retrying a failing
        receiver with back-off (and keeps a strong reference to it).
        """
        return self._connect_or_decorate(*args, **kwargs)

    def _connect_or_decorate(self, receiver: Any = None, sender: Any = None, weak: bool = True,
                             dispatch_uid: Hashable | None = None, retry: bool = False) -> Any:
        if receiver is not None and not callable(receiver):
            # Old positional form: ``signal.connect(sender)`` used as decorator.
            receiver, sender = None, receiver

        def connect_receiver(fun: Receiver) -> Receiver:
            self._connect(fun, sender, weak, dispatch_uid, retry)
            return fun

        if receiver is None:
            return connect_receiver
        return connect_receiver(receiver)

    def _connect(self, receiver: Receiver, sender: Any, weak: bool,
                 dispatch_uid: Hashable | None, retry: bool) -> None:
        if not callable(receiver):
            raise TypeError(f'Signal receiver must be callable, got {receiver!r}')
        lookup_key = _make_lookup_key(receiver, sender, dispatch_uid)
        if retry:
            receiver, weak = _retrying(receiver), False
        ref: Any = receiver
        if weak:
            ref = self._weak_ref(receiver)
        with self.lock:
            self._clear_dead_receivers()
            if not any(key == lookup_key for key, _ in self.receivers):
                # Copy on write: a concurrent ``send`` keeps iterating its snapshot.
                self.receivers = [*self.receivers, (lookup_key, ref)]
            self.sender_receivers_cache.clear()

    def _weak_ref(self, receiver: Receiver) -> Any:
        if hasattr(receiver, '__self__') and hasattr(receiver, '__func__'):
            return weakref.WeakMethod(receiver, self._remove_receiver)  # type: ignore[arg-type]
        try:
            return weakref.ref(receiver, self._remove_receiver)
        except TypeError:
            # Builtins can't be weakly referenced; they live forever anyway.
            return receiver

    def _remove_receiver(self, _ref: Any = None) -> None:
        # Called from the GC; only flag it, the list is pruned under the lock later.
        self._dead_receivers = True

    def disconnect(self, receiver: Receiver | None = None, sender: Any = None,
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

    def has_listeners(self, sender: Any = None) -> bool:
        """Return True if any receiver would be called for ``sender``."""
        return bool(self._live_receivers(sender))

    def send(self, sender: Any, **named: Any) -> list[tuple[Receiver, Any]]:
        """Call every matching receiver; return ``[(receiver, response), ...]``.

        A receiver that raises does not stop the others: the error is logged and
        the exception object takes the place of its response.
        """
        if not self.receivers:
            return []
        responses = []
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

    def _live_receivers(self, sender: Any) -> list[Receiver]:
        if self._dead_receivers:
            with self.lock:
                self._clear_dead_receivers()
        sender_key = _make_id(sender)
        if self.use_caching:
            cached = self.sender_receivers_cache.get(sender_key)
            if cached is NO_RECEIVERS:
                return []
            if cached is not None:
                return cached
        receivers = []
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

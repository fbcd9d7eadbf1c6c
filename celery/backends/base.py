"""The result backend interface and the pieces every backend shares.

- :class:`Backend` stores states (with retries), encodes/decodes meta (from
  :mod:`celery.backends.encoding`) and holds the fallback chord logic.
- :class:`SyncBackendMixin` waits for results by polling.
- :class:`BaseBackend` is a polling backend; :class:`DisabledBackend` is
  what an app without ``result_backend`` gets.
"""
from __future__ import annotations

import random
import time
import warnings
from collections import namedtuple
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from weakref import WeakValueDictionary

from kombu.utils.functional import LRUCache
from kombu.utils.url import maybe_sanitize_url

from celery import states
from celery._state import current_app, get_current_task  # noqa: F401 - re-exported
from celery.backends.callbacks import ChordFallbackMixin
from celery.backends.compression import (  # noqa: F401 - constants re-exported
    E_UNKNOWN_COMPRESSION,
    W_COMPRESSION_UNSUPPORTED,
    W_FAILURE_EXPIRES_UNSUPPORTED,
    compress_payload,
    compression_codec,
    decompress_payload,
)
from celery.backends.encoding import ResultEncodingMixin
from celery.backends.polling import SyncBackendMixin  # noqa: F401 - re-exported
from celery.exceptions import (
    BackendGetMetaError,
    BackendStoreError,
    ImproperlyConfigured,
    TimeoutError,
)
from celery.transport.serialization import codec_for, encoder_names
from celery.utils.lazy_names import lazy_module_getattr
from celery.utils.log import get_logger
from celery.utils.serialization import prepare_accept_content, raise_with_context

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kombu import Producer

    from celery.app.base import Celery
    from celery.backends._types import BackendReduce, BackendRequest, Expires
    from celery.result import GroupResult

__all__ = (
    'Backend',
    'BaseBackend',
    'DisabledBackend',
    'KeyValueStoreBackend',
    'SyncBackendMixin',
    'pending_results_t',
    'unpickle_backend',
)

logger = get_logger(__name__)

T = TypeVar('T')

pending_results_t = namedtuple('pending_results_t', ('concrete', 'weak'))

#: Serializers that carry exceptions as they are (others get a dict form).
EXCEPTION_ABLE_CODECS = frozenset({'pickle'})

#: Result messages an async backend keeps for results nobody waits for yet.
MESSAGE_BUFFER_MAX = 8192

E_NO_BACKEND = """
No result backend is configured.
Please see the documentation for more information.
"""

E_CHORD_NO_BACKEND = """
Starting chords requires a result backend to be configured, but none is.
Please see the documentation for more information.
"""


def backoff_interval_ms(base_ms: float, retries: int, maximum_ms: float) -> float:
    """Exponential backoff with full jitter, in milliseconds."""
    return random.uniform(0, min(maximum_ms, base_ms * (2 ** retries)))


def _is_request_ignore_result(request: BackendRequest | None) -> bool:
    return bool(request is not None and getattr(request, 'ignore_result', False))


class _NullCache(dict[str, Any]):
    """A cache that never keeps anything (``result_cache_max = -1``)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


class Backend(ResultEncodingMixin, ChordFallbackMixin):
    """Base class of every result backend."""

    READY_STATES = states.READY_STATES
    UNREADY_STATES = states.UNREADY_STATES
    EXCEPTION_STATES = states.EXCEPTION_STATES

    TimeoutError = TimeoutError

    #: Time to sleep between polling each individual item in ``ResultSet.iterate``.
    subpolling_interval: float | None = None
    #: Whether the backend joins groups without polling every member.
    supports_native_join = False
    #: Whether the backend expires results by itself (no cleanup task needed).
    supports_autoexpire = False
    #: Whether results survive a restart of the backend.
    persistent = True
    #: Whether the backend compresses what it stores (``result_compression``).
    supports_result_compression = False
    #: Whether FAILURE results can have their own ``result_failure_expires``.
    supports_failure_expires = False
    #: Whether a forked child may go on using the instance its parent built
    #: (:meth:`on_after_fork` then drops the parent's connections).
    survives_fork = False

    retry_policy = {'max_retries': 20, 'interval_start': 0,
                    'interval_step': 1, 'interval_max': 1}

    def __init__(self, app: Celery, serializer: str | None = None,
                 max_cached_results: int | None = None,
                 accept: str | Iterable[str] | None = None,
                 expires: Expires = None, expires_type: type[float] | type[int] | None = None,
                 url: str | None = None, **kwargs: Any) -> None:
        self.app = app
        conf = app.conf
        self.serializer = serializer or conf.result_serializer
        try:
            (self.content_type, self.content_encoding,
             self.encoder) = codec_for(self.serializer)
        except KeyError:
            raise ImproperlyConfigured(
                f'Unknown result_serializer {self.serializer!r}: use one of '
                f'{encoder_names()!r} or register it with kombu') from None
        cmax = max_cached_results or conf.result_cache_max
        self._cache: MutableMapping[str, dict[str, Any]] = (
            _NullCache() if cmax == -1 else LRUCache(limit=cmax))
        self.expires = self.prepare_expires(expires, expires_type)
        accept = accept or conf.result_accept_content or conf.accept_content
        self.accept = prepare_accept_content(accept)
        self.always_retry = conf.result_backend_always_retry
        self.max_sleep_between_retries_ms = conf.result_backend_max_sleep_between_retries_ms
        self.base_sleep_between_retries_ms = conf.result_backend_base_sleep_between_retries_ms
        self.max_retries = conf.result_backend_max_retries
        self._pending_results = pending_results_t({}, WeakValueDictionary())
        self._pending_messages: Any = None
        self.url = url
        self.compression: str | None = self.prepare_compression(conf.result_compression)
        self._compress, self._decompress = compression_codec(self.compression)
        if conf.result_failure_expires is not None and not self.supports_failure_expires:
            warnings.warn(W_FAILURE_EXPIRES_UNSUPPORTED.format(type(self).__name__),
                          RuntimeWarning, stacklevel=2)

    def prepare_expires(self, value: Expires,
                        type: type[float] | type[int] | None = None) -> float | None:
        """Normalize an expiry (``None`` = ``result_expires``) to seconds."""
        if value is None:
            value = self.app.conf.result_expires
        if isinstance(value, timedelta):
            value = value.total_seconds()
        if value is not None and type:
            return type(value)
        return value

    def prepare_persistent(self, enabled: bool | None = None) -> bool:
        """Return ``enabled`` or the ``result_persistent`` setting."""
        if enabled is not None:
            return enabled
        persistent = self.app.conf.result_persistent
        return self.persistent if persistent is None else persistent

    # -- building meta ----------------------------------------------------

    def current_task_children(self, request: BackendRequest | None = None,
                              ) -> list[tuple[Any, ...]]:
        """Tuples of the results of subtasks started by the task of ``request``."""
        request = request or getattr(get_current_task(), 'request', None)
        if request:
            return [r.as_tuple() for r in getattr(request, 'children', None) or ()]
        return []

    def _get_result_meta(self, result: object, state: str, traceback: str | None,
                         request: BackendRequest | None, format_date: bool = True,
                         encode: bool = False) -> dict[str, Any]:
        date_done: datetime | str | None = None
        if state in self.READY_STATES:
            date_done = self.app.now()
            if format_date:
                date_done = date_done.isoformat()
        meta = {'status': state, 'result': result, 'traceback': traceback,
                'children': self.current_task_children(request), 'date_done': date_done}
        if request is not None:
            group_id = getattr(request, 'group', None)
            if group_id:
                meta['group_id'] = group_id
            parent_id = getattr(request, 'parent_id', None)
            if parent_id:
                meta['parent_id'] = parent_id
            if self.app.conf.result_extended:
                meta.update(self._extended_meta(request, encode))
        return meta

    def _extended_meta(self, request: BackendRequest, encode: bool) -> dict[str, Any]:
        delivery_info = getattr(request, 'delivery_info', None) or {}
        args = getattr(request, 'args', None)
        kwargs = getattr(request, 'kwargs', None)
        if encode:
            args, kwargs = self.encode(args), self.encode(kwargs)
        meta = {'name': getattr(request, 'task', None), 'args': args, 'kwargs': kwargs,
                'worker': getattr(request, 'hostname', None),
                'retries': getattr(request, 'retries', None),
                'queue': delivery_info.get('routing_key')}
        stamped_headers = getattr(request, 'stamped_headers', None)
        if stamped_headers:
            stamps = getattr(request, 'stamps', None) or {}
            meta['stamped_headers'] = stamped_headers
            meta.update({h: stamps.get(h) for h in stamped_headers})
        return meta

    # -- writing states ---------------------------------------------------

    def mark_as_started(self, task_id: str, **meta: Any) -> object:
        """Store that the task started (``meta`` is usually pid and hostname)."""
        return self.store_result(task_id, meta, states.STARTED)

    def mark_as_done(self, task_id: str, result: object, request: BackendRequest | None = None,
                     store_result: bool = True, state: str = states.SUCCESS) -> None:
        """Store that the task succeeded, then advance its chord."""
        if store_result and not _is_request_ignore_result(request):
            self.store_result(task_id, result, state, request=request)
        if request is not None and getattr(request, 'chord', None):
            self.on_chord_part_return(request, state, result)

    def mark_as_failure(self, task_id: str, exc: BaseException, traceback: str | None = None,
                        request: BackendRequest | None = None, store_result: bool = True,
                        call_errbacks: bool = True, state: str = states.FAILURE) -> None:
        """Store that the task failed; advance chords, fail the chain, call errbacks."""
        if store_result:
            self.store_result(task_id, exc, state, traceback=traceback, request=request)
        if request is None:
            return
        if getattr(request, 'chord', None):
            self.on_chord_part_return(request, state, exc)
        self._fail_chain(request, exc, traceback, state, store_result)
        if call_errbacks and getattr(request, 'errbacks', None):
            self._call_task_errbacks(request, exc, traceback)

    def mark_as_retry(self, task_id: str, exc: BaseException | None,
                      traceback: str | None = None,
                      request: BackendRequest | None = None, store_result: bool = True,
                      state: str = states.RETRY) -> object:
        """Store that the task will be retried (``exc``: None when ``retry()`` was given none)."""
        return self.store_result(task_id, exc, state, traceback=traceback, request=request)

    def mark_as_revoked(self, task_id: str, reason: str = '',
                        request: BackendRequest | None = None,
                        store_result: bool = True, state: str = states.REVOKED) -> None:
        """Store that the task was revoked (``reason``: revoked, expired, terminated)."""
        from celery.exceptions import TaskRevokedError
        exc = TaskRevokedError(reason)
        if store_result:
            self.store_result(task_id, exc, state, traceback=None, request=request)
        if request is not None and getattr(request, 'chord', None):
            self.on_chord_part_return(request, state, exc)

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def exception_safe_to_retry(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a transient error worth retrying (backend specific)."""
        return False

    def on_backend_retryable_error(self, exc: BaseException) -> None:
        """Called before retrying after a retryable ``exc`` (e.g. to drop a dead connection)."""

    def _retry_delay(self, retries: int) -> float:
        return backoff_interval_ms(self.base_sleep_between_retries_ms, retries,
                                   self.max_sleep_between_retries_ms) / 1000.0

    def _with_retries(self, operation: Callable[[], T], error: Callable[[], Exception]) -> T:
        retries = 0
        while True:
            try:
                return operation()
            except Exception as exc:
                if not (self.always_retry and self.exception_safe_to_retry(exc)):
                    raise
                if retries >= self.max_retries:
                    raise_with_context(error())
                retries += 1
                logger.warning('Result backend error (%r): retry %d in progress', exc, retries)
                self.on_backend_retryable_error(exc)
                self._sleep(self._retry_delay(retries))

    def store_result(self, task_id: str, result: object, state: str,
                     traceback: str | None = None, request: BackendRequest | None = None,
                     **kwargs: Any) -> object:
        """Store the ``result`` and ``state`` of a task (retrying when configured)."""
        result = self.encode_result(result, state)
        self._with_retries(
            lambda: self._store_result(task_id, result, state, traceback,
                                       request=request, **kwargs),
            lambda: BackendStoreError('failed to store result on the backend',
                                      task_id=task_id, state=state))
        return result

    def _store_result(self, task_id: str, result: object, state: str,
                      traceback: str | None = None, request: BackendRequest | None = None,
                      **kwargs: Any) -> object:
        raise NotImplementedError('Backend does not implement _store_result')

    # -- reading states ---------------------------------------------------

    def get_task_meta(self, task_id: str, cache: bool = True) -> dict[str, Any]:
        """Return the meta dict of a task (``PENDING`` when unknown)."""
        self._ensure_not_eager()
        if cache:
            try:
                return self._cache[task_id]
            except KeyError:
                pass
        meta = self._with_retries(
            lambda: self._get_task_meta_for(task_id),
            lambda: BackendGetMetaError('failed to get meta', task_id=task_id))
        if cache and meta.get('status') == states.SUCCESS:
            self._cache[task_id] = meta
        return meta

    def _get_task_meta_for(self, task_id: str) -> dict[str, Any]:
        raise NotImplementedError('Backend does not implement _get_task_meta_for')

    def get_state(self, task_id: str) -> str:
        """Return the state of a task."""
        state: str = self.get_task_meta(task_id)['status']
        return state

    get_status = get_state

    def get_result(self, task_id: str) -> object:
        """Return the result of a task."""
        return self.get_task_meta(task_id).get('result')

    def get_traceback(self, task_id: str) -> str | None:
        """Return the remote traceback of a failed task."""
        return self.get_task_meta(task_id).get('traceback')

    def get_children(self, task_id: str) -> list[Any] | None:
        """Return the result tuples of the subtasks of a task."""
        try:
            children: list[Any] | None = self.get_task_meta(task_id)['children']
            return children
        except KeyError:
            return None

    def is_cached(self, task_id: str) -> bool:
        """Whether the meta of ``task_id`` is in the local cache."""
        return task_id in self._cache

    def reload_task_result(self, task_id: str) -> None:
        """Refresh the cached meta of a task."""
        self._cache[task_id] = self.get_task_meta(task_id, cache=False)

    def task_result_exists(self, task_id: str) -> bool:
        """Whether anything was stored for ``task_id``."""
        return self.get_task_meta(task_id, cache=False).get('status') != states.PENDING

    def _ensure_not_eager(self) -> None:
        if self.app.conf.task_always_eager and not self.app.conf.get('task_store_eager_result'):
            warnings.warn(
                'Results are not stored in backend and should not be retrieved when '
                'task_always_eager is enabled.', RuntimeWarning, stacklevel=3)

    # -- groups -----------------------------------------------------------

    def save_group(self, group_id: str, result: GroupResult) -> object:
        """Store the result of a group."""
        return self._save_group(group_id, result)

    def _save_group(self, group_id: str, result: GroupResult) -> object:
        raise NotImplementedError(f'{type(self).__name__} cannot save groups')

    def restore_group(self, group_id: str, cache: bool = True) -> GroupResult | None:
        """Return the stored :class:`~celery.result.GroupResult` (or ``None``)."""
        meta = self.get_group_meta(group_id, cache=cache)
        if meta:
            group: GroupResult | None = meta['result']
            return group
        return None

    def get_group_meta(self, group_id: str, cache: bool = True) -> dict[str, Any] | None:
        """Return the meta of a stored group."""
        self._ensure_not_eager()
        if cache:
            try:
                return self._cache[group_id]
            except KeyError:
                pass
        meta = self._restore_group(group_id)
        if cache and meta is not None:
            self._cache[group_id] = meta
        return meta

    def _restore_group(self, group_id: str) -> dict[str, Any] | None:
        raise NotImplementedError(f'{type(self).__name__} cannot restore groups')

    def reload_group_result(self, group_id: str) -> None:
        """Refresh the cached meta of a group."""
        meta = self.get_group_meta(group_id, cache=False)
        if meta is None:
            self._cache.pop(group_id, None)
        else:
            self._cache[group_id] = meta

    def delete_group(self, group_id: str) -> None:
        """Remove a stored group."""
        self._cache.pop(group_id, None)
        return self._delete_group(group_id)

    def _delete_group(self, group_id: str) -> None:
        raise NotImplementedError(f'{type(self).__name__} cannot delete groups')

    # -- housekeeping -----------------------------------------------------

    def forget(self, task_id: str) -> None:
        """Drop the stored result of a task."""
        self._cache.pop(task_id, None)
        self._forget(task_id)

    def _forget(self, task_id: str) -> None:
        raise NotImplementedError(f'{type(self).__name__} does not support forget.')

    def cleanup(self) -> None:
        """Remove expired results (run by the ``celery.backend_cleanup`` task)."""

    def process_cleanup(self) -> None:
        """Called by the worker after each task."""

    def on_task_call(self, producer: Producer, task_id: str) -> dict[str, Any]:
        """Called when a task is published; returns extra publish options."""
        return {}

    def on_after_fork(self) -> None:
        """Reset what must not be shared with a forked child."""

    def before_fork(self) -> None:
        """Build what forked children can share with the parent (for backends that survive a fork)."""

    def as_uri(self, include_password: bool = False) -> str:
        """The backend URL (password masked unless ``include_password``)."""
        url = self.url or ''
        if not include_password:
            url = maybe_sanitize_url(url)
        return url[:-1] if url.endswith(':///') else url

    def __reduce__(self, args: tuple[Any, ...] = (),
                   kwargs: dict[str, Any] | None = None) -> BackendReduce:
        kwargs = {} if kwargs is None else kwargs
        return unpickle_backend, (self.__class__, args, kwargs)


def unpickle_backend(cls: type[Backend], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Backend:
    """Rebuild a pickled backend of class ``cls`` bound to the current app."""
    from celery._state import get_current_app
    factory: Callable[..., Backend] = cls  # ``app`` is not among the pickled args
    return factory(*args, app=get_current_app(), **kwargs)


class BaseBackend(Backend, SyncBackendMixin):
    """Base class for polling result backends."""


#: The old name of :class:`BaseBackend` (django-celery-results imports it).
BaseDictBackend = BaseBackend


class DisabledBackend(BaseBackend):
    """What an app gets without a ``result_backend``: storing is a no-op, reading fails."""

    _cache = _NullCache()

    def store_result(self, *args: Any, **kwargs: Any) -> None:
        """Results are not stored."""

    def ensure_chords_allowed(self) -> None:
        """Chords need a result backend."""
        raise NotImplementedError(E_CHORD_NO_BACKEND.strip())

    def _is_disabled(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(E_NO_BACKEND.strip())

    def as_uri(self, *args: Any, **kwargs: Any) -> str:
        """Always ``disabled://``."""
        return 'disabled://'

    get_state = get_status = get_result = get_traceback = _is_disabled
    get_task_meta_for = wait_for = get_many = _is_disabled
    get_task_meta = _is_disabled


# The key/value backends live in their own module but are importable from here.
__getattr__ = lazy_module_getattr(__name__, {
    'KeyValueStoreBackend': 'celery.backends.keyvalue',
    'BaseKeyValueStoreBackend': 'celery.backends.keyvalue',
}, globals())

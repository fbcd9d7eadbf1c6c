"""Memcached (pymemcache) and in-process ``memory`` result backends."""
from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from kombu.utils.functional import LRUCache

from celery.backends.keyvalue import KeyValueStoreBackend
from celery.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.backends._types import BackendReduce, Payload
    from celery.canvas import Signature
    from celery.result import GroupResult

__all__ = ('CacheBackend', 'DummyClient', 'backends', 'get_best_memcache')

REQUIRES_BACKEND = """\
The memcached backend requires the pymemcache library: pip install 'celery[memcache]'\
"""

UNKNOWN_BACKEND = """\
The cache backend {0!r} is unknown,
Please use one of the following backends instead: {1}\
"""

W_CHORD_EXPIRES_TOO_LONG = """\
result_chord_expires of {0} seconds is more than memcached's relative limit \
of {1} seconds: chord counters are kept {1} seconds.\
"""

#: Longest time to live memcached reads as relative (larger values are Unix times).
MAX_RELATIVE_EXPIRES = 30 * 24 * 3600

#: pymemcache ``HashClient`` options used unless ``cache_backend_options`` says otherwise.
DEFAULT_CLIENT_OPTIONS = {'connect_timeout': 5, 'timeout': 10, 'retry_attempts': 2,
                          'no_delay': True, 'dead_timeout': 1, 'use_pooling': True}

#: ``cache_backend_options`` only pylibmc understood; pymemcache is given the rest.
PYLIBMC_ONLY_OPTIONS = ('behaviors', 'binary', 'username', 'password')

# Every ``cache+memory://`` backend of a process shares one store, like a
# local memcached would: a result stored by one app is visible to another.
_memory_store = LRUCache(limit=5000)
_memory_lock = threading.Lock()
#: Notified on every write to the memory store, so waiters need not poll.
_memory_changed = threading.Condition()


class MemcacheClient(Protocol):
    """The part of pymemcache's client interface the cache backend uses."""

    def get(self, key: bytes) -> Payload | None:
        """Return the value at ``key`` (``None`` when missing)."""

    def get_multi(self, keys: list[bytes]) -> dict[bytes, Any]:
        """Return the values found for ``keys``."""

    def set(self, key: bytes, value: Payload, expire: int = 0) -> bool:
        """Store ``value`` at ``key`` for ``expire`` seconds (0: forever)."""

    def delete(self, key: bytes) -> object:
        """Remove ``key``."""

    def incr(self, key: bytes, delta: int = 1) -> int | None:
        """Increment the counter at ``key`` (``None`` when missing)."""

    def touch(self, key: bytes, expire: int = 0) -> bool:
        """Set the time to live of ``key``."""


class DummyClient:
    """The memcached client interface over an in-process dict."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.cache = _memory_store

    def get(self, key: bytes, *args: Any, **kwargs: Any) -> Payload | None:
        """Return the value at ``key``."""
        return self.cache.get(key)

    def get_multi(self, keys: list[bytes]) -> dict[bytes, Payload]:
        """Return the values found for ``keys``."""
        cache = self.cache
        return {k: cache[k] for k in keys if k in cache}

    def set(self, key: bytes, value: Payload, *args: Any, **kwargs: Any) -> bool:
        """Store ``value`` at ``key``."""
        self.cache[key] = value
        with _memory_changed:
            _memory_changed.notify_all()
        return True

    def delete(self, key: bytes, *args: Any, **kwargs: Any) -> None:
        """Remove ``key``."""
        self.cache.pop(key, None)

    def incr(self, key: bytes, delta: int = 1) -> int:
        """Increment the counter at ``key``."""
        with _memory_lock:
            value = self.cache[key] = int(self.cache.get(key) or 0) + delta
        return value

    def touch(self, key: bytes, expire: int = 0, *args: Any, **kwargs: Any) -> bool:
        """Expiry is not simulated in memory."""
        return True


def import_best_memcache() -> ModuleType:
    """The memcached client library (pymemcache's hashing client module)."""
    try:
        from pymemcache.client import hash as hash_client
    except ImportError as exc:
        raise ImproperlyConfigured(REQUIRES_BACKEND) from exc
    module: ModuleType = hash_client
    return module


def get_best_memcache(*args: Any, **kwargs: Any) -> MemcacheClient:
    """A memcached client for ``servers`` (first argument) and client options."""
    servers = (args[0] if args else kwargs.pop('servers', None)) or ['127.0.0.1:11211']
    if isinstance(servers, str):
        servers = servers.split(';')
    return _memcached_client(list(servers), dict(kwargs))


def get_memcache_client() -> type:
    """The memcached client class :func:`get_best_memcache` instantiates."""
    client_class: type = import_best_memcache().HashClient
    return client_class


def _memcached_client(servers: list[str], options: dict[str, Any]) -> MemcacheClient:
    client_class = get_memcache_client()
    parsed = []
    for server in servers:
        host, _, port = server.rpartition(':') if ':' in server else (server, '', '11211')
        parsed.append((host or '127.0.0.1', int(port or 11211)))
    options = {k: v for k, v in options.items() if k not in PYLIBMC_ONLY_OPTIONS}
    client: MemcacheClient = client_class(parsed, **{**DEFAULT_CLIENT_OPTIONS, **options})
    return client


def memcached_ttl(seconds: float | None) -> int:
    """A time to live memcached reads right: past 30 days it must be a Unix time."""
    seconds = int(seconds or 0)
    if seconds > MAX_RELATIVE_EXPIRES:
        return int(time.time()) + seconds
    return seconds


#: Client factory of each ``cache+<name>://`` scheme.
backends: dict[str, Callable[..., MemcacheClient]] = {
    'memcache': get_best_memcache,
    'memcached': get_best_memcache,
    'pymemcache': get_best_memcache,
    'pylibmc': get_best_memcache,
    'memory': DummyClient,
}


def _servers_from_url(url: str) -> tuple[str, list[str]]:
    scheme, _, rest = url.partition('://')
    servers = [s for s in rest.strip('/').split(';') if s]
    return scheme, servers


class CacheBackend(KeyValueStoreBackend):
    """Results in memcached (``cache+memcached://host:port/``) or in memory."""

    servers: list[str] | None = None
    supports_autoexpire = True
    ttl_type = int
    supports_native_join = True
    implements_incr = True
    supports_failure_expires = True

    def __init__(self, app: Celery, expires: float | timedelta | None = None,
                 backend: str | None = None,
                 options: dict[str, Any] | None = None, url: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(app, url=url, **kwargs)
        self.url = url
        self.options = dict(self.app.conf.cache_backend_options or {}, **(options or {}))
        self.backend = url or backend or self.app.conf.cache_backend
        self.servers = []
        if self.backend and '://' in self.backend:
            self.backend, self.servers = _servers_from_url(self.backend)
        self.backend = self.backend or 'memory'
        if self.backend not in backends:
            raise ImproperlyConfigured(UNKNOWN_BACKEND.format(
                self.backend, 'memcached://, memcache://, pylibmc://, memory://'))
        self.expires = self.prepare_expires(expires, type=int)
        self._local = threading.local()

    @property
    def client(self) -> MemcacheClient:
        """The memcached client of this thread (pymemcache clients are not thread-safe)."""
        client: MemcacheClient | None = getattr(self._local, 'client', None)
        if client is None:
            client = backends[self.backend](self.servers or None, **self.options)
            self._local.client = client
        return client

    def get(self, key: bytes) -> Payload | None:
        """Return the value at ``key``."""
        value: Payload | None = self.client.get(key)
        return value

    def mget(self, keys: list[bytes]) -> list[Payload | None]:
        """Return the values at ``keys`` (``None`` where missing)."""
        found = self.client.get_multi(keys)
        return [found.get(k) for k in keys]

    def set(self, key: bytes, value: Payload, expires: float | None = None) -> bool:
        """Store ``value`` with the result expiry (or ``expires`` seconds)."""
        return self.client.set(key, value, memcached_ttl(self.expires if expires is None
                                                         else expires))

    _set_with_state = KeyValueStoreBackend._set_with_ttl_of_state

    @property
    def chord_expires(self) -> int:
        """Seconds chord counters are kept (at most memcached's 30-day relative limit)."""
        expires = int(self._expiry_or_default(self.app.conf.result_chord_expires) or 0)
        if expires > MAX_RELATIVE_EXPIRES:
            warnings.warn(W_CHORD_EXPIRES_TOO_LONG.format(expires, MAX_RELATIVE_EXPIRES),
                          RuntimeWarning, stacklevel=2)
            return MAX_RELATIVE_EXPIRES
        return expires

    def delete(self, key: bytes) -> object:
        """Remove ``key``."""
        return self.client.delete(key)

    def incr(self, key: bytes) -> int:
        """Increment the chord counter at ``key`` (created by :meth:`_apply_chord_incr`)."""
        value = self.client.incr(key, 1)
        if value is None:
            # The counter expired or was evicted: recreate it.
            self.client.set(key, b'1', self.chord_expires or 0)
            return 1
        return int(value)

    def expire(self, key: bytes, value: float | None) -> bool:
        """Refresh the time to live of ``key``."""
        return self.client.touch(key, memcached_ttl(value))

    def _apply_chord_incr(self, header_result_args: tuple[Any, ...], body: Signature,
                          **kwargs: Any) -> GroupResult:
        header_result = super()._apply_chord_incr(header_result_args, body, **kwargs)
        if header_result.id is not None:
            self.client.set(self.get_key_for_chord(header_result.id), b'0',
                            self.chord_expires or 0)
        return header_result

    def _wait_for_change(self, seconds: float) -> None:
        if isinstance(self.client, DummyClient):
            with _memory_changed:
                _memory_changed.wait(seconds)
        else:
            super()._wait_for_change(seconds)

    def as_uri(self, *args: Any, **kwargs: Any) -> str:
        """``cache+<backend>://<servers>/``."""
        servers = ';'.join(self.servers or [])
        return f'cache+{self.backend}://{servers}/'

    def __reduce__(self, args: tuple[Any, ...] = (),
                   kwargs: dict[str, Any] | None = None) -> BackendReduce:
        kwargs = dict(kwargs or {}, backend=self.backend, expires=self.expires,
                      options=self.options, url=self.url)
        return super().__reduce__(args, kwargs)

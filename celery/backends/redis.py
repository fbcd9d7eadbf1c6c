"""Redis result backend: ``redis://``, ``rediss://``, ``socket://`` and ``sentinel://``.

Results are written with SETEX + PUBLISH in one round trip; ``get()``
subscribes to the result's channel while it waits (see SURFACE 7.6).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from kombu.utils.functional import retry_over_time
from kombu.utils.url import url_to_parts

from celery.backends.asynchronous import (  # noqa: F401 - BaseResultConsumer re-exported
    AsyncBackendMixin,
    BaseResultConsumer,
    MessageBuffer,
)
from celery.backends.base import Backend
from celery.backends.keyvalue import BaseKeyValueStoreBackend
from celery.backends.redis_chord import RedisChordMixin
from celery.backends import redis_consumer
from celery.backends.redis_consumer import ResultConsumer
from celery.backends.redis_held import BUSY, HeldConnection
from celery.backends.redis_ssl import (  # noqa: F401 - texts re-exported
    E_REDIS_SSL_CERT_REQS_MISSING_INVALID,
    E_REDIS_SSL_PARAMS_AND_SCHEME_MISMATCH,
    W_REDIS_SSL_CERT_NONE,
    W_REDIS_SSL_CERT_OPTIONAL,
    apply_ssl_options,
)
from celery.exceptions import BackendStoreError, ImproperlyConfigured
from celery.transport.redis_publish import holds
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from celery.backends._types import BackendReduce, BackendRequest, Payload

T = TypeVar('T')

E_REDIS_MISSING = """\
The redis result backend needs the 'redis' library: pip install 'celery[redis]'\
"""

E_REDIS_SENTINEL_MISSING = """\
The sentinel:// result backend needs a 'redis' library with redis.sentinel: \
pip install -U 'celery[redis]'\
"""

try:
    import redis
    import redis.connection
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # the client library is an optional extra
    raise ImproperlyConfigured(E_REDIS_MISSING) from exc

try:
    import redis.sentinel as redis_sentinel
except ImportError:  # pragma: no cover - every supported redis-py has it
    redis_sentinel = None  # type: ignore[assignment]

__all__ = ('RedisBackend', 'ResultConsumer', 'SentinelBackend', 'SentinelManagedSSLConnection')


def _connection_defaults() -> dict[str, Any]:
    """Connection arguments of the backend (master and sentinel pools) unless the URL sets them.

    RESP2, which every server speaks (redis-py 8 would ask for RESP3: a
    ``HELLO`` round trip per connection and a slower parser, for nothing
    results use), and redis-py's own version for ``CLIENT SETINFO`` (left
    out, redis-py reads its package metadata for every new connection: a
    millisecond and about a megabyte of copied pages in each pool child).
    """
    if redis.VERSION < (5,):  # neither argument exists yet
        return {}
    try:
        from redis.driver_info import DriverInfo
    except ImportError:  # before redis-py 7 the version is an argument of its own
        return {'protocol': 2, 'lib_version': redis.__version__}
    return {'protocol': 2, 'driver_info': DriverInfo(lib_version=redis.__version__)}


_CONNECTION_DEFAULTS = _connection_defaults()

logger = get_logger(__name__)

E_LOST = 'Connection to Redis lost: Retry (%s/%s) %s.'

# Writes a result unless a SUCCESS is already stored (duplicate-delivery
# protection) and publishes it, all in one round trip.
_SET_UNLESS_SUCCESS = """
local current = redis.call('GET', KEYS[1])
if current then
    local ok, meta = pcall(ARGV[4] == 'json' and cjson.decode or cmsgpack.unpack, current)
    if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then
        return 0
    end
end
if tonumber(ARGV[2]) > 0 then
    redis.call('SETEX', KEYS[1], ARGV[2], ARGV[1])
else
    redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
"""
_SET_UNLESS_SUCCESS_SHA = hashlib.sha1(_SET_UNLESS_SUCCESS.encode(),
                                       usedforsecurity=False).hexdigest()
_SCRIPTABLE_SERIALIZERS = frozenset({'json', 'msgpack'})

CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


class RedisBackend(RedisChordMixin, BaseKeyValueStoreBackend, AsyncBackendMixin):
    """Redis task result store."""

    ResultConsumer = ResultConsumer
    # (The module's name: in this class ``ResultConsumer`` is the attribute above.)
    result_consumer: redis_consumer.ResultConsumer
    redis = redis
    connection_class_ssl: type[redis.Connection] | None = redis.SSLConnection
    supports_autoexpire = True
    ttl_type = int
    supports_native_join = True
    supports_result_compression = True
    supports_failure_expires = True
    # redis-py's pools open new connections in a forked child by themselves.
    survives_fork = True
    max_connections: int | None = None

    def __init__(self, host: str | None = None, port: int | None = None,
                 db: int | None = None, password: str | None = None,
                 max_connections: int | None = None, url: str | None = None,
                 connection_pool: type[redis.ConnectionPool] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(expires_type=int, url=url, **kwargs)
        conf = self.app.conf
        self.max_connections = max_connections or conf.redis_max_connections or self.max_connections
        self._ConnectionPool = connection_pool
        socket_timeout = conf.redis_socket_timeout
        socket_connect_timeout = conf.redis_socket_connect_timeout
        self.connparams: dict[str, Any] = {
            **_CONNECTION_DEFAULTS,
            'host': host or conf.redis_host or 'localhost',
            'port': port or conf.redis_port or 6379,
            'db': db or conf.redis_db or 0,
            'username': conf.redis_username,
            'password': password or conf.redis_password,
            'max_connections': self.max_connections,
            'socket_timeout': socket_timeout and float(socket_timeout),
            'retry_on_timeout': conf.redis_retry_on_timeout or False,
            'socket_connect_timeout': socket_connect_timeout and float(socket_connect_timeout),
            'socket_keepalive': conf.redis_socket_keepalive or False,
        }
        health_check_interval = self._transport_options.get('health_check_interval')
        if health_check_interval:
            self.connparams['health_check_interval'] = health_check_interval
        ssl_options = conf.redis_backend_use_ssl
        if ssl_options:
            self.connparams.update(ssl_options)
            self.connparams['connection_class'] = self.connection_class_ssl
        if url:
            self.connparams = self._params_from_url(url, self.connparams)
        if self.connection_class_ssl is not None:
            apply_ssl_options(self.connparams, self.connection_class_ssl)
        self.url = url
        self.retry_policy = {'max_retries': 20, 'interval_start': 0, 'interval_step': 1,
                             'interval_max': 1, **self._transport_options.get('retry_policy', {})}
        self._chord_zset = self._transport_options.get('result_chord_ordered', True)
        self.connection_errors = CONNECTION_ERRORS
        self._script_sha: str | None = None
        self._pending_messages = MessageBuffer()
        self.result_consumer = self.ResultConsumer(
            self, self.app, self.accept, self._pending_results, self._pending_messages)

    # -- connection -------------------------------------------------------

    def _params_from_url(self, url: str, defaults: dict[str, Any]) -> dict[str, Any]:
        scheme, host, port, username, password, path, query = url_to_parts(url)
        if scheme == 'redis+socket':
            scheme = 'socket'
        query = dict(query)
        connparams = dict(defaults)
        connparams.update({k: v for k, v in (('host', host), ('port', port),
                                             ('username', username),
                                             ('password', password and unquote(password)))
                           if v})
        if scheme == 'socket':
            connparams.update(connection_class=redis.UnixDomainSocketConnection,
                              path='/' + (path or '').lstrip('/'))
            for key in ('host', 'port', 'socket_connect_timeout', 'socket_keepalive'):
                connparams.pop(key, None)
            connparams['db'] = query.pop('virtual_host', None) or defaults.get('db') or 0
        else:
            connparams['db'] = path or defaults.get('db') or 0
        ssl_keys = {'ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile', 'ssl_cert_reqs'}
        if scheme == 'redis' and ssl_keys & set(query):
            raise ImproperlyConfigured(E_REDIS_SSL_PARAMS_AND_SCHEME_MISMATCH)
        if scheme == 'rediss':
            connparams['connection_class'] = self.connection_class_ssl
            for key in ssl_keys & set(query):
                query[key] = unquote(query[key])
        db = connparams['db']
        connparams['db'] = int(db.strip('/') or 0) if isinstance(db, str) else int(db)
        parsers = getattr(redis.connection, 'URL_QUERY_ARGUMENT_PARSERS', {})
        for key, value in list(query.items()):
            if key in parsers:
                query[key] = parsers[key](value)
        connparams.update(query)
        return connparams

    def _create_client(self, **params: Any) -> Any:
        return redis.StrictRedis(connection_pool=self._get_pool(**params))

    @property
    def ConnectionPool(self) -> type:  # noqa: N802 - Celery's name
        """The connection pool class (``connection_pool`` argument, else redis-py's)."""
        return self._ConnectionPool or redis.ConnectionPool

    def _get_pool(self, **params: Any) -> Any:
        return self.ConnectionPool(**params)

    @property
    def client(self) -> redis.Redis:
        """The redis client (created on first use, one pool per backend)."""
        client: redis.Redis | None = self.__dict__.get('_client')
        if client is None:
            client = self.__dict__['_client'] = self._create_client(**self.connparams)
        return client

    @property
    def fast_path(self) -> bool:
        """Whether the backend's own commands and ``get()`` skip redis-py's generic layers.

        See :mod:`celery.backends.redis_held`; off with the transports'
        switch (``CELERY_STOCK_TRANSPORTS=1``, or ``fast_path=False`` in
        ``broker_transport_options`` or ``result_backend_transport_options``).
        """
        enabled: bool | None = self.__dict__.get('_fast_path')
        if enabled is None:
            from celery.transport import fast_path_enabled
            enabled = self.__dict__['_fast_path'] = fast_path_enabled(
                self.app, self._transport_options)
        return enabled

    @property
    def held(self) -> HeldConnection | None:
        """The connection held for the backend's commands (None: they go through the client)."""
        held: HeldConnection | None = self.__dict__.get('_held')
        if held is None and '_held' not in self.__dict__:
            pool = self.client.connection_pool
            made = HeldConnection(pool) if self.fast_path and holds(pool) else None
            # setdefault: two threads racing here end up sharing one.
            held = self.__dict__.setdefault('_held', made)
        return held

    def drop_held(self) -> None:
        """Disconnect the held connection (the pool is reset, or the backend closes)."""
        held = self.__dict__.get('_held')
        if held is not None:
            held.close()

    def before_fork(self) -> None:
        """Build the client (not its connections) for the children to share."""
        self.client

    def on_after_fork(self) -> None:
        """Forget the parent's connections."""
        self.result_consumer.on_after_fork()

    def ensure(self, fun: Callable[..., T], args: tuple[Any, ...], **policy: Any) -> T:
        """Call ``fun(*args)`` retrying on connection errors per the retry policy."""
        retry_policy = dict(self.retry_policy, **policy)
        max_retries = retry_policy.get('max_retries')
        result: T = retry_over_time(fun, self.connection_errors, args, {},
                                    partial(self.on_connection_error, max_retries),
                                    **retry_policy)
        return result

    def on_connection_error(self, max_retries: int | None, exc: Exception,
                            intervals: Iterator[float], retries: int) -> float:
        """Log the lost connection and return the time to sleep before retrying."""
        tts = next(intervals)
        logger.error(E_LOST.strip(), retries, max_retries or 'Inf',
                     f'in {tts:.2f} seconds' if tts else 'now')
        return tts

    def exception_safe_to_retry(self, exc: BaseException) -> bool:
        """Connection and timeout errors are transient."""
        return isinstance(exc, self.connection_errors)

    # -- storage primitives -----------------------------------------------

    def get(self, key: bytes) -> Payload | None:
        """GET ``key``."""
        held = self.held
        if held is not None:
            reply = held.call('GET', key)
            if reply is not BUSY:
                found: Payload | None = reply
                return found
        value: Payload | None = self.client.get(key)
        return value

    def mget(self, keys: list[bytes]) -> list[Payload | None]:
        """MGET ``keys``."""
        held = self.held
        if held is not None and keys:
            reply = held.call('MGET', *keys)
            if reply is not BUSY:
                found: list[Payload | None] = reply
                return found
        values: list[Payload | None] = self.client.mget(keys)
        return values

    def set(self, key: bytes, value: Payload, expires: float | None = None,
            **retry_policy: Any) -> None:
        """SETEX (or SET) and PUBLISH ``value`` in one pipeline, retrying on connection loss.

        ``expires`` overrides ``result_expires`` (e.g. with ``result_chord_expires``).
        """
        if isinstance(value, str) and len(value) > 512 * 1024 * 1024:
            raise BackendStoreError('value too large for Redis backend')
        ttl = self.expires if expires is None else expires
        return self.ensure(self._set, (key, value, ttl), **retry_policy)

    _set_with_state = BaseKeyValueStoreBackend._set_with_ttl_of_state

    def _set(self, key: bytes, value: Payload, expires: float | None = None) -> None:
        with self.client.pipeline() as pipe:
            if expires:
                pipe.set(key, value, ex=int(expires))
            else:
                pipe.set(key, value)
            pipe.publish(key, value)
            pipe.execute()

    def _store_result(self, task_id: str, result: object, state: str,
                      traceback: str | None = None, request: BackendRequest | None = None,
                      **kwargs: Any) -> object:
        if self.serializer not in _SCRIPTABLE_SERIALIZERS or self.compression:
            # The script cannot read the stored status of these: check it from here.
            return super()._store_result(task_id, result, state, traceback, request, **kwargs)
        meta = self._get_result_meta(result=result, state=state, traceback=traceback,
                                     request=request)
        meta['task_id'] = task_id
        self.ensure(self._set_unless_success,
                    (self.get_key_for_task(task_id), self.encode(meta),
                     int(self.expires_for_state(state) or 0)))
        return result

    def _set_unless_success(self, key: bytes, value: Payload, expires: int) -> object:
        args = (value, expires, '', self.serializer)
        held = self.held
        if held is not None:
            try:
                reply = held.call('EVALSHA', _SET_UNLESS_SUCCESS_SHA, 1, key, *args)
            except redis.exceptions.NoScriptError:
                self._script_sha = None   # the client loads it (a restarted server)
            else:
                if reply is not BUSY:
                    return reply
        client = self.client
        if self._script_sha is not None:
            try:
                return client.evalsha(self._script_sha, 1, key, *args)
            except redis.exceptions.NoScriptError:
                pass
        self._script_sha = client.script_load(_SET_UNLESS_SUCCESS)
        return client.evalsha(self._script_sha, 1, key, *args)

    def forget(self, task_id: str) -> None:
        """Delete the result and stop waiting for it."""
        super().forget(task_id)
        self.result_consumer.cancel_for(task_id)

    def delete(self, key: bytes) -> int:
        """DEL ``key``: how many keys were removed."""
        removed: int = self.client.delete(key)
        return removed

    def incr(self, key: bytes) -> int:
        """INCR ``key``."""
        return self.client.incr(key)

    def expire(self, key: bytes, value: float | None) -> bool:
        """EXPIRE ``key`` (``None``: keep it forever); whether the key was there."""
        if value is None:
            # redis-py refuses None; an expiry of 0 would delete the key.
            return False
        found: bool = self.client.expire(key, int(value))
        return found

    def as_uri(self, include_password: bool = False) -> str:
        """The backend URL, password masked unless ``include_password``."""
        return Backend.as_uri(self, include_password) if self.url else 'redis://'

    def __reduce__(self, args: tuple[Any, ...] = (),
                   kwargs: dict[str, Any] | None = None) -> BackendReduce:
        kwargs = dict(kwargs or {}, url=self.url, expires=self.expires)
        return super().__reduce__(args, kwargs)


if redis_sentinel is not None:
    class SentinelManagedSSLConnection(redis_sentinel.SentinelManagedConnection,
                                       redis.SSLConnection):
        """A TLS connection to the master a sentinel names (``sentinel://`` with SSL)."""


class SentinelBackend(RedisBackend):
    """Redis result backend reached through Redis Sentinel (``sentinel://``)."""

    sentinel = redis_sentinel
    connection_class_ssl = SentinelManagedSSLConnection if redis_sentinel else None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.sentinel is None:
            raise ImproperlyConfigured(E_REDIS_SENTINEL_MISSING)
        super().__init__(*args, **kwargs)

    def _params_from_url(self, url: str, defaults: dict[str, Any]) -> dict[str, Any]:
        chunks = [c for c in url.split(';') if c]
        hosts = []
        connparams: dict[str, Any] = dict(defaults)
        for chunk in chunks:
            params = super()._params_from_url(chunk.replace('sentinel://', 'redis://', 1),
                                              defaults)
            hosts.append(params)
            connparams = params
        connparams = dict(connparams)
        connparams['hosts'] = hosts
        for key in ('host', 'port', 'path'):
            connparams.pop(key, None)
        return connparams

    def _get_sentinel_instance(self, **params: Any) -> Any:
        Sentinel = self.sentinel.Sentinel  # noqa: N806 - a class
        hosts = params.pop('hosts')
        sentinel_kwargs = {**_CONNECTION_DEFAULTS,
                           **self._transport_options.get('sentinel_kwargs', {})}
        params.pop('connection_class', None)
        for key in [k for k in params if k.startswith('ssl')]:
            params.pop(key)  # for the masters: the sentinels themselves are reached in plain
        return Sentinel([(cp['host'], cp['port']) for cp in hosts],
                        sentinel_kwargs=sentinel_kwargs, **params)

    def _get_pool(self, **params: Any) -> Any:
        master_name = self._transport_options.get('master_name')
        if not master_name:
            raise ImproperlyConfigured(
                'The sentinel:// result backend needs the master name: set '
                "result_backend_transport_options = {'master_name': '<name>'}")
        params = dict(params)
        params.pop('max_connections', None)
        master_options: dict[str, Any] = {}
        if params.get('connection_class') is self.connection_class_ssl:
            master_options = {k: v for k, v in params.items() if k.startswith('ssl')}
            master_options['connection_class'] = self.connection_class_ssl
        sentinel = self._get_sentinel_instance(**params)
        return sentinel.master_for(master_name, redis.StrictRedis,
                                   **master_options).connection_pool

    def as_uri(self, include_password: bool = False) -> str:
        """All sentinel URLs joined by ``;``."""
        from kombu.utils.url import maybe_sanitize_url
        if include_password:
            return self.url or ''
        return ';'.join(maybe_sanitize_url(u) for u in (self.url or '').split(';'))

"""How an app reaches the broker: connections, connection and producer pools."""
from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kombu import Connection

__all__ = ('AppConnections',)


class _AcquiredProducer:
    """A producer from the pool, the thread's current one until the block ends."""

    __slots__ = ('pool', 'local', 'producer')

    def __init__(self, pool: Any, local: threading.local) -> None:
        self.pool = pool
        self.local = local
        self.producer: Any = None

    def __enter__(self) -> Any:
        self.producer = self.pool.acquire(block=True)
        self.local.producer = self.producer
        return self.producer

    def __exit__(self, *exc_info: object) -> None:
        self.local.producer = None
        self.producer.release()


class AppConnections:
    """Mixin giving :class:`~celery.Celery` its broker connections and pools."""

    _pool: Any = None
    conf: Any
    amqp: Any

    def either(self, default_key: str, *defaults: Any) -> Any:
        """Return the first of ``defaults`` that is not None, else setting ``default_key``."""
        for value in defaults:
            if value is not None:
                return value
        return self.conf.get(default_key)



    def connection_for_read(self, url: str | None = None, **kwargs: Any) -> Connection:
        """Establish connection used for consuming."""
        return self._connection(url or self.conf.broker_read_url, reading=True, **kwargs)

    def connection_for_write(self, url: str | None = None, **kwargs: Any) -> Connection:
        """Establish connection used for producing."""
        return self._connection(url or self.conf.broker_write_url, **kwargs)

    def connection(self, hostname: str | None = None, userid: str | None = None,
                   password: str | None = None, virtual_host: str | None = None,
                   port: int | None = None, ssl: Any = None, connect_timeout: float | None = None,
                   transport: str | None = None, transport_options: dict | None = None,
                   heartbeat: float | None = None, login_method: str | None = None,
                   failover_strategy: Any = None, **kwargs: Any) -> Connection:
        """Establish a connection to the message broker (for writing)."""
        return self._connection(
            hostname or self.conf.broker_write_url, userid=userid, password=password,
            virtual_host=virtual_host, port=port, ssl=ssl, connect_timeout=connect_timeout,
            transport=transport, transport_options=transport_options, heartbeat=heartbeat,
            login_method=login_method, failover_strategy=failover_strategy, **kwargs)

    broker_connection = connection

    def _connection(self, url: str | None, userid: str | None = None,
                    password: str | None = None, virtual_host: str | None = None,
                    port: int | None = None, ssl: Any = None,
                    connect_timeout: float | None = None, transport: str | None = None,
                    transport_options: dict | None = None, heartbeat: float | None = None,
                    login_method: str | None = None, failover_strategy: Any = None,
                    reading: bool = False, **kwargs: Any) -> Connection:
        # kombu is imported on first connection: ``import celery`` stays light.
        from celery.transport import connection_class
        conf = self.conf
        transport_options = dict(conf.broker_transport_options, **transport_options or {})
        # Owned transports (celery.transport) unless the fast path is off.
        connection_cls = connection_class(self, reading, transport_options)  # type: ignore[arg-type]
        return connection_cls(
            url,
            userid or conf.broker_user,
            password or conf.broker_password,
            virtual_host or conf.broker_vhost,
            port or conf.broker_port,
            transport=transport or conf.broker_transport,
            ssl=self.either('broker_use_ssl', ssl),
            heartbeat=heartbeat if heartbeat is not None else conf.broker_heartbeat,
            login_method=login_method or conf.broker_login_method,
            failover_strategy=failover_strategy or conf.broker_failover_strategy,
            transport_options=transport_options,
            connect_timeout=self.either('broker_connection_timeout', connect_timeout),
        )

    def connection_or_acquire(self, connection: Connection | None = None, pool: bool = True,
                              *_: Any, **__: Any) -> AbstractContextManager:
        """Context used to acquire a connection from the pool (or use ``connection``)."""
        if connection is not None:
            return nullcontext(connection)
        if pool:
            return self.pool.acquire(block=True)
        return self.connection_for_write()

    default_connection = connection_or_acquire

    def producer_or_acquire(self, producer: Any = None) -> AbstractContextManager:
        """Context used to acquire a producer from the pool (or use ``producer``).

        Inside such a block in the same thread, sending without a producer
        (``delay()``, ``send_task()``) uses the block's producer instead of
        taking another one from the pool.
        """
        if producer is not None:
            return nullcontext(producer)
        local = self._producer_local
        current = getattr(local, 'producer', None)
        if current is not None:
            return nullcontext(current)
        return _AcquiredProducer(self.producer_pool, local)

    @property
    def _producer_local(self) -> threading.local:
        # Per app and thread: the producer of the innermost acquiring block.
        local: threading.local = self.__dict__.setdefault('_producer_local_', threading.local())
        return local

    default_producer = producer_or_acquire

    @property
    def pool(self) -> Any:
        """Broker connection pool (for writing): :setting:`broker_pool_limit`."""
        if self._pool is None:
            from celery.app.pools import ForkSafeConnectionPool
            self._pool = ForkSafeConnectionPool(self.connection_for_write(),
                                                limit=self.conf.broker_pool_limit)
            self._pool.acquire_timeout = self.conf.broker_pool_acquire_timeout
        return self._pool

    @property
    def producer_pool(self) -> Any:
        """Pool of kombu producers bound to :attr:`pool`."""
        return self.amqp.producer_pool


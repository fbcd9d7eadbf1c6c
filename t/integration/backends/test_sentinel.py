"""sentinel:// end to end: a private master, a replica and two sentinels on free ports."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from celery import states
from t.integration.backends.redis_servers import (
    free_port,
    needs_redis_server,
    start_redis,
    start_sentinel,
    stop,
)

pytestmark = needs_redis_server


@dataclass
class SentinelCluster:
    """Ports of the servers of one private sentinel setup."""

    master_name: str
    master_port: int
    replica_port: int
    sentinel_ports: list[int]

    @property
    def url(self) -> str:
        return ';'.join(f'sentinel://127.0.0.1:{port}/0' for port in self.sentinel_ports)

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=2)

    def master_address(self) -> tuple[str, int] | None:
        """What the sentinels currently announce (``None`` mid-failover)."""
        from redis.sentinel import MasterNotFoundError, Sentinel
        sentinel = Sentinel([('127.0.0.1', p) for p in self.sentinel_ports], socket_timeout=0.5)
        try:
            return sentinel.discover_master(self.master_name)
        except MasterNotFoundError:
            return None


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.05)


@pytest.fixture
def cluster(tmp_path: Path, unique: str):
    master_port, replica_port = free_port(), free_port()
    # No 5s diskless-sync delay: the replica is in sync at once.
    procs = {'master': start_redis(master_port, '--repl-diskless-sync-delay', '0')}
    procs['replica'] = start_redis(replica_port, '--replicaof', '127.0.0.1', str(master_port))
    setup = SentinelCluster(f'm{unique}', master_port, replica_port, [])
    try:
        for n in range(2):
            port = free_port()
            procs[f'sentinel{n}'] = start_sentinel(port, tmp_path, setup.master_name,
                                                   master_port)
            setup.sentinel_ports.append(port)
        replica = setup.client(replica_port)
        _wait(lambda: replica.info('replication').get('master_link_status') == 'up', 10,
              'the replica to sync')
        setup.procs = procs  # type: ignore[attr-defined]
        yield setup
    finally:
        for proc in procs.values():
            stop(proc)


@pytest.fixture
def make_sentinel_app(cluster: SentinelCluster, unique: str):
    from celery import Celery
    apps = []

    def _make(role: str):
        app = Celery(f'sentinel-{role}-{unique}', set_as_current=False,
                     backend=cluster.url)
        app.conf.result_backend_transport_options = {
            'master_name': cluster.master_name,
            'sentinel_kwargs': {'socket_timeout': 0.5},
            'retry_policy': {'max_retries': 60, 'interval_step': 0.2, 'interval_max': 0.5},
        }
        app.conf.result_expires = 60
        apps.append(app)
        return app
    yield _make
    for app in apps:
        app.close()


def test_sentinel_and_master_connections_get_the_connection_defaults(
        make_sentinel_app, unique, monkeypatch) -> None:
    from importlib import metadata

    def version(name: str) -> str:
        raise AssertionError(f'package metadata read for {name}')
    monkeypatch.setattr(metadata, 'version', version)
    app = make_sentinel_app('defaults')
    app.backend.mark_as_done(unique, 'stored')
    assert app.backend.client.client_info()['resp'] == '2'


def test_store_get_and_push_through_sentinel(cluster, make_sentinel_app, unique) -> None:
    client, writer = make_sentinel_app('client'), make_sentinel_app('writer')
    client.backend.mark_as_done(unique, {'via': 'sentinel'})
    # The sentinels led us to the real master: the key is there.
    raw = cluster.client(cluster.master_port).get(f'celery-task-meta-{unique}')
    assert raw is not None and b'sentinel' in raw
    assert client.AsyncResult(unique).get(timeout=5) == {'via': 'sentinel'}

    pushed = f'{unique}-push'
    threading.Timer(0.3, writer.backend.mark_as_done, (pushed, 'pushed')).start()
    start = time.monotonic()
    # A huge poll interval: only the pub/sub push can make this fast.
    assert client.AsyncResult(pushed).get(timeout=5, interval=10) == 'pushed'
    assert time.monotonic() - start < 3
    assert not client.backend.result_consumer.subscribed_to


def test_missing_master_name_is_a_clear_error(cluster, unique) -> None:
    from celery import Celery
    from celery.exceptions import ImproperlyConfigured
    app = Celery(f'sentinel-nm-{unique}', set_as_current=False, backend=cluster.url)
    with pytest.raises(ImproperlyConfigured, match='master_name'):
        app.backend.store_result(unique, 1, states.SUCCESS)
    app.close()


def test_failover_during_get(cluster, make_sentinel_app, unique) -> None:
    client, writer = make_sentinel_app('client'), make_sentinel_app('writer')
    early = f'{unique}-early'
    writer.backend.mark_as_done(early, 'replicated')
    assert cluster.client(cluster.master_port).execute_command('WAIT', 1, 2000) == 1
    assert cluster.master_address() == ('127.0.0.1', cluster.master_port)

    waiting = client.AsyncResult(unique)
    outcome: dict[str, object] = {}

    def wait_for_result() -> None:
        try:
            # Generous: the sentinels' failover alone may take 20 s on a busy machine.
            outcome['value'] = waiting.get(timeout=60, interval=0.2)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome['error'] = exc
    waiter = threading.Thread(target=wait_for_result)
    waiter.start()
    time.sleep(0.3)  # subscribed to the old master

    stop(cluster.procs['master'])  # type: ignore[attr-defined]
    _wait(lambda: cluster.master_address() == ('127.0.0.1', cluster.replica_port), 20,
          'the sentinels to promote the replica')
    # The writer's pool still points at the dead master: it must re-discover.
    writer.backend.mark_as_done(unique, 'after failover')
    waiter.join(60)
    assert outcome == {'value': 'after failover'}
    assert client.AsyncResult(early).get(timeout=5) == 'replicated'
    raw = cluster.client(cluster.replica_port).get(f'celery-task-meta-{unique}')
    assert raw is not None and b'after failover' in raw

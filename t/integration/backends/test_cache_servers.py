"""Cache backend URLs naming several memcached servers (``cache+memcached://h1:p1;h2:p2/``)."""
from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

from celery import states
from t.integration.backends.redis_servers import free_port, stop, wait_listening
from t.servers import MEMCACHED_URL


@pytest.fixture
def second_memcached():
    """A private memcached on a free loopback port; its ``host:port``."""
    program = shutil.which('memcached')
    if program is None:
        pytest.skip('needs the memcached program')
    port = free_port()
    proc = subprocess.Popen([program, '-p', str(port), '-l', '127.0.0.1', '-U', '0',
                             '-u', 'root'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    yield f'127.0.0.1:{port}'
    stop(proc)


def keys_held_by(server: str, keys: list[bytes]) -> int:
    from pymemcache.client.base import Client
    host, _, port = server.rpartition(':')
    client = Client((host, int(port)))
    try:
        return len(client.get_many(keys))
    finally:
        client.close()


def test_results_spread_over_every_server_and_read_back(make_app, second_memcached,
                                                        unique) -> None:
    first = urlsplit(MEMCACHED_URL).netloc
    app = make_app('memcached', url=f'cache+memcached://{first};{second_memcached}/')
    backend = app.backend
    assert backend.servers == [first, second_memcached]
    assert backend.as_uri() == f'cache+memcached://{first};{second_memcached}/'
    ids = [f'{unique}-{i}' for i in range(40)]
    for i, task_id in enumerate(ids):
        backend.mark_as_done(task_id, i)

    assert [app.AsyncResult(task_id).get(timeout=5) for task_id in ids] == list(range(40))
    group = app.GroupResult(unique, [app.AsyncResult(task_id) for task_id in ids])
    assert group.join_native(timeout=5) == list(range(40))  # one get_many over both servers

    keys = [backend.get_key_for_task(task_id) for task_id in ids]
    on_first, on_second = keys_held_by(first, keys), keys_held_by(second_memcached, keys)
    assert on_first and on_second and on_first + on_second == len(ids)
    backend.mark_as_failure(unique + 'f', KeyError('k'))
    assert app.AsyncResult(unique + 'f').state == states.FAILURE

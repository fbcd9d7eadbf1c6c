"""Starting ``celery worker``: banner, ready line, executing tasks, queue selection, purge."""
from __future__ import annotations

import re

from t.servers import REDIS_BACKEND_URL

from .conftest import FAST

RESULT_TIMEOUT = 20


def test_banner_ready_and_results(start_worker, client, queue_name):
    worker = start_worker(*FAST, '-l', 'INFO', '-n', f'banner-{queue_name}@%h')
    worker.wait_ready()
    out = worker.output
    for fragment in ('[config]', '.> app:         programapp:0x', '.> transport:',
                     f'.> results:     {REDIS_BACKEND_URL}', '.> concurrency: 2 (prefork)',
                     '.> task events: OFF', '[queues]', queue_name,
                     '[tasks]', '  . programapp.add', '  . programapp.slow'):
        assert fragment in out, fragment
    assert ':**@' in out or 'guest' not in out  # the password is never printed
    assert re.search(rf'banner-{queue_name}@\S+ ready\.', out)
    result = client.send_task('programapp.add', (2, 3), queue=queue_name)
    assert result.get(timeout=RESULT_TIMEOUT) == 5


def test_quiet_hides_banner(start_worker, worker_env, tmp_path):
    from .conftest import WorkerProcess
    worker = WorkerProcess(['-q', *FAST, '-l', 'INFO'], worker_env, tmp_path)
    try:
        worker.wait_ready()
        assert '[config]' not in worker.output
    finally:
        worker.stop()


def test_events_flag_shows_in_banner(start_worker):
    worker = start_worker(*FAST, '-l', 'INFO', '-E')
    worker.wait_ready()
    assert '.> task events: ON' in worker.output


def test_queue_selection(start_worker, client, queue_name):
    other = f'{queue_name}-other'
    worker = start_worker(*FAST, '-l', 'INFO', '-Q', other)
    worker.wait_ready()
    assert f'{other}' in worker.output
    skipped = client.send_task('programapp.add', (1, 1), queue=queue_name)
    taken = client.send_task('programapp.add', (2, 2), queue=other)
    assert taken.get(timeout=RESULT_TIMEOUT) == 4
    assert skipped.state == 'PENDING'


def test_exclude_queues(start_worker, client, queue_name):
    other = f'{queue_name}-other'
    worker = start_worker(*FAST, '-l', 'INFO', '-Q', f'{queue_name},{other}', '-X', other)
    worker.wait_ready()
    skipped = client.send_task('programapp.add', (1, 1), queue=other)
    taken = client.send_task('programapp.add', (3, 3), queue=queue_name)
    assert taken.get(timeout=RESULT_TIMEOUT) == 6
    assert skipped.state == 'PENDING'


def test_purge_discards_waiting_tasks(start_worker, client, queue_name):
    stale = client.send_task('programapp.add', (1, 1), queue=queue_name)
    with client.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue_name, passive=True)
    worker = start_worker(*FAST, '-l', 'INFO', '--purge')
    worker.wait_ready()
    assert 'purge: Erased 1 message from the queue.' in worker.output
    fresh = client.send_task('programapp.add', (5, 5), queue=queue_name)
    assert fresh.get(timeout=RESULT_TIMEOUT) == 10
    assert stale.state == 'PENDING'


def test_default_flags_start(start_worker, client, queue_name):
    worker = start_worker('worker', '-l', 'INFO', '-c', '1')
    worker.wait_ready()
    assert client.send_task('programapp.add', (20, 22), queue=queue_name).get(timeout=RESULT_TIMEOUT) == 42

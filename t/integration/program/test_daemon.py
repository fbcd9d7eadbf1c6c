"""Pidfiles, logfiles and detaching."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from .conftest import FAST


def _wait(predicate, timeout: float = 30.0, what: str = 'condition') -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.05)


def test_pidfile_written_and_removed(start_worker, tmp_path):
    worker = start_worker(*FAST, '-l', 'INFO', '-n', 'pidnode@%h', '--pidfile', str(tmp_path / '%n.pid'))
    worker.wait_ready()
    pidfile = tmp_path / 'pidnode.pid'
    assert pidfile.read_text().strip() == str(worker.proc.pid)
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert not pidfile.exists()


def test_second_worker_with_same_pidfile_refuses(start_worker, tmp_path):
    first = start_worker(*FAST, '-l', 'INFO', '--pidfile', str(tmp_path / 'w.pid'))
    first.wait_ready()
    second = start_worker(*FAST, '-l', 'INFO', '--pidfile', str(tmp_path / 'w.pid'))
    assert second.wait(timeout=30) == 73  # EX_CANTCREAT
    assert 'already exists' in second.output


def test_logfile_node_expansion(start_worker, client, queue_name, tmp_path):
    worker = start_worker(*FAST, '-l', 'INFO', '-n', 'lognode@%h',
                          '-f', str(tmp_path / '%n%I.log'))
    main_log = tmp_path / 'lognode.log'
    _wait(lambda: main_log.exists() and ' ready.' in main_log.read_text(), what='ready in logfile')
    assert client.send_task('programapp.add', (3, 4), queue=queue_name).get(timeout=20) == 7
    assert 'lognode@' in main_log.read_text()
    # %I gives each pool child a file of its own: the task's output goes there.
    result = client.send_task('programapp.chatty', ('in-child-file',), queue=queue_name)
    assert result.get(timeout=20) == 'in-child-file'
    child_logs = lambda: ''.join(p.read_text() for p in tmp_path.glob('lognode-*.log'))
    _wait(lambda: 'printed in-child-file' in child_logs(), what='print in a child logfile')
    assert f'programapp.chatty[{result.id}]: logged in-child-file' in child_logs()
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0


def test_task_output_reaches_the_worker_log(start_worker, client, queue_name):
    # The children keep the logging the worker set up before forking: the
    # task log format and print() redirected to the log.
    worker = start_worker(*FAST, '-l', 'INFO')
    worker.wait_ready()
    result = client.send_task('programapp.chatty', ('hello',), queue=queue_name)
    assert result.get(timeout=20) == 'hello'
    worker.wait_for(rf'WARNING/ForkPoolWorker-\d+\] programapp\.chatty\[{result.id}\]: logged hello')
    worker.wait_for(r'WARNING/ForkPoolWorker-\d+\] printed hello')
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0


def test_detach_runs_in_background(worker_env, client, queue_name, tmp_path):
    pidfile, logfile = tmp_path / 'd.pid', tmp_path / 'd.log'
    cmd = [sys.executable, '-m', 'celery', '-A', 'programapp', *FAST, '-l', 'INFO', '-D',
           '--pidfile', str(pidfile), '--logfile', str(logfile)]
    completed = subprocess.run(cmd, env=worker_env, cwd=tmp_path, timeout=30,
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    _wait(lambda: logfile.exists() and ' ready.' in logfile.read_text(), what='detached worker ready')
    pid = int(pidfile.read_text())
    try:
        assert client.send_task('programapp.add', (8, 8), queue=queue_name).get(timeout=20) == 16
    finally:
        os.kill(pid, signal.SIGTERM)
        _wait(lambda: not pidfile.exists(), what='pidfile removal after SIGTERM')

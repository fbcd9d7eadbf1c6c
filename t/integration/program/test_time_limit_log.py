"""How ``celery worker`` logs a child ended by a task's hard time limit."""
from __future__ import annotations

import re

import pytest

QUIET = ('worker', '--without-mingle', '--without-gossip', '--without-heartbeat',
         '-c', '1', '-l', 'INFO')


def test_hard_time_limit_logs_the_signal(start_worker, client, queue_name, tmp_path):
    worker = start_worker(*QUIET)
    worker.wait_ready()
    result = client.send_task('programapp.slow', (30, str(tmp_path / 'limit')),
                              queue=queue_name, time_limit=1)
    with pytest.raises(Exception) as failure:
        result.get(timeout=30)
    assert 'TimeLimitExceeded' in repr(failure.value) or 'Worker' in repr(failure.value)
    line = worker.wait_for(r'Hard time limit \(1(\.0)?s\) exceeded for programapp\.slow')
    assert result.id in line
    lost = worker.wait_for(r'exited with')
    assert re.search(r"Process 'ForkPoolWorker-\d+' pid:\d+ exited with 'signal \d+ \(SIG[A-Z]+\)'",
                     lost), worker.output
    assert 'exitcode 15' not in worker.output

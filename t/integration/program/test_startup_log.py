"""What ``celery worker`` logs while starting: banner layout, mingle, then ready."""
from __future__ import annotations

import re

QUIET = ('worker', '--without-gossip', '--without-heartbeat', '-c', '1', '-l', 'INFO')


def line_index(lines: list[str], pattern: str) -> int:
    regex = re.compile(pattern)
    return next(i for i, line in enumerate(lines) if regex.search(line))


def test_mingle_logs_come_before_ready(start_worker, unique):
    first = start_worker(*QUIET, '-n', f'alone-{unique}@%h')
    first.wait_ready()
    lines = first.output.splitlines()
    searching = line_index(lines, r'mingle: searching for neighbors')
    # Workers of tests running in parallel on the same broker may answer.
    outcome = line_index(lines, r'mingle: (all alone|sync with \d+ nodes)')
    ready = line_index(lines, rf'alone-{unique}@\S+ ready\.$')
    assert searching < outcome < ready

    second = start_worker(*QUIET, '-n', f'neighbour-{unique}@%h')
    second.wait_ready()
    lines = second.output.splitlines()
    searching = line_index(lines, r'mingle: searching for neighbors')
    synced = line_index(lines, r'mingle: sync with \d+ nodes')
    ready = line_index(lines, rf'neighbour-{unique}@\S+ ready\.$')
    assert searching < synced < ready


def test_banner_layout(start_worker, unique, queue_name):
    worker = start_worker(*QUIET, '--without-mingle', '-n', f'banner-{unique}@%h')
    worker.wait_ready()
    out = worker.output
    from celery import VERSION_BANNER
    head = re.search(rf'^ -------------- banner-{unique}@\S+ v{re.escape(VERSION_BANNER)}$',
                     out, re.M)
    assert head, out
    assert re.search(r'^--- \*\*\*\*\* -----\s*$', out, re.M), out
    assert re.search(r'^-- \*\*\*\*\*\*\* ---- \S', out, re.M), out  # platform line
    assert re.search(r'^- \*\*\* --- \* --- $', out, re.M), out
    for section in ('[config]', '[queues]', '[tasks]'):
        assert section in out
    assert out.index('[config]') < out.index('[queues]') < out.index('[tasks]')
    assert re.search(rf'^\s+\.> {re.escape(queue_name)}\s+exchange={re.escape(queue_name)}',
                     out, re.M), out

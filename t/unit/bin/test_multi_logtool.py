"""``celery multi`` node expansion and ``celery logtool`` parsing."""
from __future__ import annotations

import io

from celery.apps.multi import MultiParser, NamespacedOptionParser
from celery.bin.logtool import Audit
from celery.bin.multi import MultiTool


def nodes_for(*args: str):
    parser = NamespacedOptionParser(list(args))
    parser.parse()
    return list(MultiParser(cmd='celery worker --detach').parse(parser))


def test_count_creates_numbered_nodes_with_range_options():
    nodes = nodes_for('3', '-c', '2', '-c:1-2', '8', '--suffix=example.com')
    assert [n.name for n in nodes] == ['celery1@example.com', 'celery2@example.com',
                                       'celery3@example.com']
    assert [n.options['-c'] for n in nodes] == ['8', '8', '2']


def test_named_nodes_with_per_node_queue():
    nodes = nodes_for('images', 'video@host2', '-Q:images', 'imgq', '-A', 'proj')
    images, video = nodes
    assert images.name.startswith('images@') and video.name == 'video@host2'
    assert images.options['-Q'] == 'imgq' and '-Q' not in video.options
    # -A is a global option: it goes before the sub-command.
    assert images.argv[0] == 'celery -A proj worker --detach'


def test_default_pid_and_log_files_expand_per_node():
    node = nodes_for('w1@example.com')[0]
    assert node.pidfile == 'w1.pid'
    assert node.options['--logfile'] == '%n%I.log'
    assert '--logfile=w1%I.log' in node.argv  # %I is left for the worker's own processes


def test_multitool_names_and_usage():
    out = io.StringIO()
    tool = MultiTool(stdout=out, stderr=out)
    assert tool.execute_from_commandline(['multi', 'names', 'a@x', 'b@y']) == 0
    assert out.getvalue().split() == ['a@x', 'b@y']
    assert tool.execute_from_commandline(['multi', 'bogus']) == 64
    assert 'usage:' in out.getvalue()


LOG = """\
[2024-01-01 00:00:00,000: INFO/MainProcess] Task tasks.add[a1] received
[2024-01-01 00:00:00,001: INFO/ForkPoolWorker-1] Task tasks.add[a1] succeeded in 0.01s: 4
[2024-01-01 00:00:00,002: INFO/MainProcess] Task tasks.div[b2] received
[2024-01-01 00:00:00,003: ERROR/ForkPoolWorker-1] Task tasks.div[b2] raised unexpected: ZeroDivisionError()
Traceback (most recent call last):
ZeroDivisionError: division by zero
[2024-01-01 00:00:00,004: INFO/MainProcess] Task tasks.slow[c3] received
"""


def test_logtool_audit():
    audit = Audit()
    for line in LOG.splitlines(keepends=True):
        audit.feed(line)
    assert audit.counts['total'] == 3
    assert audit.counts['succeeded'] == 1 and audit.counts['failed'] == 1
    assert audit.incomplete == {'c3': 'tasks.slow'}
    assert len(audit.errors) == 1
    assert audit.traces == ['Traceback (most recent call last):\nZeroDivisionError: division by zero']
    assert 'Task incomplete: 1' in audit.report()

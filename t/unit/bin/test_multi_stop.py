"""``celery multi stop|stopwait``: only the named nodes, whatever options follow."""
from __future__ import annotations

import io
import signal

import pytest

from celery.bin.multi import MultiTool


@pytest.mark.parametrize('action', ['stop', 'stopwait'])
def test_stop_acts_on_the_named_node_only(running_w1, action) -> None:
    out = io.StringIO()
    tool = MultiTool(stdout=out, nosplash=True)
    assert tool.execute_from_commandline(['multi', action, 'w1', '-A', 'proj', '-Q', 'q1']) == 0
    text = out.getvalue()
    assert running_w1.wait(10) == -signal.SIGTERM
    assert 'w1@' in text and f': TERM -> {running_w1.pid}' in text
    assert 'proj' not in text and 'q1' not in text


def test_signal_option_is_still_recognised(running_w1) -> None:
    out = io.StringIO()
    tool = MultiTool(stdout=out, nosplash=True)
    tool.execute_from_commandline(['multi', 'stop', 'w1', '-A', 'proj', '-KILL'])
    assert running_w1.wait(10) == -signal.SIGKILL
    assert ': KILL -> ' in out.getvalue() and 'proj' not in out.getvalue()


def test_signal_option_forms() -> None:
    from celery.bin.multi import _signal_option
    assert _signal_option('-9') == 9 and _signal_option('-INT') == signal.SIGINT
    assert _signal_option('-SIGHUP') == signal.SIGHUP
    assert _signal_option('-A') is None and _signal_option('-Q') is None
    assert _signal_option('--app') is None and _signal_option('proj') is None

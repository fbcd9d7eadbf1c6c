"""``celery multi stop|stopwait``: only the named nodes, whatever options follow."""
from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading

import pytest

from celery.bin.multi import MultiTool


@pytest.fixture
def running_w1(tmp_path, monkeypatch):
    """A process standing in for node w1, with its pidfile in the cwd."""
    monkeypatch.chdir(tmp_path)
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    (tmp_path / 'w1.pid').write_text(f'{proc.pid}\n')
    # Reap it once signalled, so the pid stops answering.
    reaper = threading.Thread(target=proc.wait, daemon=True)
    reaper.start()
    yield proc
    if proc.poll() is None:
        proc.kill()
    reaper.join(5)


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

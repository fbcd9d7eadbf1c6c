"""Fixtures shared by unit tests of more than one package."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest


@pytest.fixture
def running_w1(tmp_path, monkeypatch):
    """A process standing in for node w1, with its pidfile ``w1.pid`` in the cwd."""
    monkeypatch.chdir(tmp_path)
    proc = subprocess.Popen([sys.executable, '-c',
                             'import time; print("up", flush=True); time.sleep(60)'],
                            stdout=subprocess.PIPE)
    # Signalled only once running: a SIGINT during the interpreter's start-up
    # ends it with status 1 instead of by the signal (seen on a loaded machine).
    assert proc.stdout is not None and proc.stdout.readline() == b'up\n'
    (tmp_path / 'w1.pid').write_text(f'{proc.pid}\n')
    # Reap it once signalled, so the pid stops answering.
    reaper = threading.Thread(target=proc.wait, daemon=True)
    reaper.start()
    yield proc
    if proc.poll() is None:
        proc.kill()
    reaper.join(5)
    proc.stdout.close()

"""AsyncResult.get() inside monkey-patched gevent and eventlet programs (redis and rpc)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = Path(__file__).with_name('green_program.py')
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize('kind', ['redis', 'rpc'])
@pytest.mark.parametrize('framework', ['gevent', 'eventlet'])
def test_green_threads_wait_on_results(framework: str, kind: str, unique: str) -> None:
    pytest.importorskip(framework)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, str(PROGRAM), framework, kind, unique], check=False,
                          capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['errors'] == [], proc.stderr
    expected = {f'{unique}-own-{n}' for n in range(4)}
    if kind == 'redis':
        expected |= {f'{unique}-shared-{n}' for n in range(4)}
    assert report['values'] == {task_id: f'value of {task_id}' for task_id in expected}
    assert report['drainers'] == [f'{framework.capitalize()}Drainer']
    # Every waiter has its result soon after the last store: pushed, not found
    # by the 5s poll.  Measured from the store, so a loaded machine's slow
    # start-up does not count; the margin allows for a starved process.
    assert report['last_done'] - report['stored'] < 1.5, report
    # The hub kept running while every green thread waited (about 60 ticks in
    # 0.6s on an idle machine; a starved process still turns several times).
    assert report['ticks'] > 5, report

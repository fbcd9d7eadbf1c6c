"""celery.platforms names Celery programs use: signal tables, PIDFile, set_pdeathsig."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from celery import platforms


def test_signal_tables():
    assert {'SIGTERM', 'SIGINT', 'SIGKILL'} <= platforms.SIGNAMES
    assert not any('_' in name for name in platforms.SIGNAMES)
    assert platforms.SIGMAP[signal.SIGTERM] == 'SIGTERM'
    assert all(getattr(signal, name) == num for num, name in platforms.SIGMAP.items())


def test_pidfile_aliases_and_callbacks(tmp_path):
    assert platforms.PIDFile is platforms.Pidfile
    assert platforms.Pidfile.path is None
    pidfile = platforms.PIDFile(tmp_path / 'w.pid')
    with pidfile:
        assert pidfile.read_pid() == os.getpid()
    assert not pidfile.is_locked()
    pidfile.acquire()
    pidfile.release(signal.SIGTERM, None)  # as a signal handler
    assert not pidfile.is_locked()


def test_ignore_errno_types_keyword():
    with platforms.ignore_errno(errno.ENOENT, types=(OSError,)):
        raise FileNotFoundError(errno.ENOENT, 'gone')
    with pytest.raises(TypeError):
        with platforms.ignore_errno(errno.ENOENT, kinds=(OSError,)):
            pass


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='prctl is Linux only')
def test_set_pdeathsig_kills_the_child_with_its_parent(tmp_path):
    # The parent starts a grandchild that asks for SIGKILL on its parent's death,
    # then exits: the grandchild must not outlive it.
    marker = tmp_path / 'grandchild.pid'
    script = textwrap.dedent(f'''
        import os, subprocess, sys, time
        code = (
            "import os, time\\n"
            "from celery.platforms import set_pdeathsig\\n"
            "set_pdeathsig('SIGKILL')\\n"
            "open({str(marker)!r}, 'w').write(str(os.getpid()))\\n"
            "time.sleep(60)\\n"
        )
        subprocess.Popen([sys.executable, '-c', code])
        deadline = time.monotonic() + 20
        while not os.path.exists({str(marker)!r}) and time.monotonic() < deadline:
            time.sleep(0.02)
    ''')
    subprocess.run([sys.executable, '-c', script], check=True, timeout=30)
    pid = int(marker.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if open(f'/proc/{pid}/stat').read().split()[2] == 'Z':
            break  # killed, waiting to be reaped by init
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail('the grandchild outlived its parent')

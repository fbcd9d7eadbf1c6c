"""Pidfile locking and the pidlock used by daemons."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from celery.platforms import EX_CANTCREAT, LockFailed, Pidfile, create_pidlock


def test_acquire_writes_our_pid_and_release_removes_it(tmp_path):
    pidfile = Pidfile(tmp_path / 'w.pid')
    with pidfile:
        assert pidfile.is_locked()
        assert pidfile.read_pid() == os.getpid()
    assert not pidfile.is_locked()


def test_acquire_fails_when_file_exists(tmp_path):
    path = tmp_path / 'w.pid'
    path.write_text('1\n')
    with pytest.raises(LockFailed):
        Pidfile(path).acquire()


def test_read_pid_missing_file_is_none(tmp_path):
    assert Pidfile(tmp_path / 'none.pid').read_pid() is None


@pytest.mark.parametrize('content', ['abc\n', '123', ''])
def test_read_pid_rejects_garbage(tmp_path, content):
    path = tmp_path / 'w.pid'
    path.write_text(content)
    with pytest.raises(ValueError, match='contents invalid'):
        Pidfile(path).read_pid()


def test_stale_pidfile_of_dead_process_is_removed(tmp_path):
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    path = tmp_path / 'w.pid'
    path.write_text(f'{proc.pid}\n')
    assert Pidfile(path).remove_if_stale()
    assert not path.exists()


def test_pidfile_of_live_process_is_kept(tmp_path):
    path = tmp_path / 'w.pid'
    path.write_text(f'{os.getppid()}\n')
    assert not Pidfile(path).remove_if_stale()
    assert path.exists()


def test_garbled_pidfile_counts_as_stale(tmp_path):
    path = tmp_path / 'w.pid'
    path.write_text('garbage')
    assert Pidfile(path).remove_if_stale()


def test_create_pidlock_refuses_when_another_process_holds_it(tmp_path, capsys):
    path = tmp_path / 'w.pid'
    path.write_text(f'{os.getppid()}\n')
    with pytest.raises(SystemExit) as exc_info:
        create_pidlock(str(path))
    assert exc_info.value.code == EX_CANTCREAT
    assert 'already exists' in capsys.readouterr().err


def test_create_pidlock_replaces_stale_file(tmp_path):
    path = tmp_path / 'w.pid'
    path.write_text('999999999\n')
    lock = create_pidlock(str(path))
    try:
        assert lock.read_pid() == os.getpid()
    finally:
        lock.release()


def test_pidfile_naming_ourselves_is_stale(tmp_path, capsys):
    # Left over from the process we replaced with exec.
    path = tmp_path / 'w.pid'
    path.write_text(f'{os.getpid()}\n')
    assert Pidfile(path).remove_if_stale()
    assert not path.exists()
    assert capsys.readouterr().err == ''


def test_pidfile_naming_pid_zero_is_stale(tmp_path):
    path = tmp_path / 'w.pid'
    path.write_text('0\n')
    assert Pidfile(path).remove_if_stale()
    assert not path.exists()


def test_pidfile_of_a_process_we_may_not_signal_is_kept(tmp_path):
    # pid 1 is alive; unprivileged we get EPERM, as root the signal check passes.
    path = tmp_path / 'w.pid'
    path.write_text('1\n')
    assert not Pidfile(path).remove_if_stale()
    assert path.exists()


def test_stale_and_broken_pidfiles_say_why_they_are_removed(tmp_path, capsys):
    path = tmp_path / 'w.pid'
    path.write_text('999999999\n')
    Pidfile(path).remove_if_stale()
    assert 'Stale pidfile exists - removing it (pid 999999999 is gone).' in capsys.readouterr().err
    path.write_text('nonsense')
    Pidfile(path).remove_if_stale()
    assert f'Broken pidfile found {str(path)!r} - removing it.' in capsys.readouterr().err

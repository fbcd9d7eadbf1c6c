"""Privileges, file descriptors, daemonizing and process titles."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from celery import platforms
from celery.exceptions import SecurityError, SecurityWarning
from celery.platforms import (check_privileges, fd_by_path, get_fdmax, isatty,
                              parse_gid, parse_uid, set_process_title)


def test_exit_codes_match_sysexits():
    assert (platforms.EX_OK, platforms.EX_FAILURE, platforms.EX_UNAVAILABLE,
            platforms.EX_USAGE, platforms.EX_CANTCREAT) == (0, 1, 69, 64, 73)


def test_parse_uid_and_gid():
    assert parse_uid('0') == 0
    assert parse_uid('root') == 0
    assert parse_gid('0') == 0
    assert parse_gid('root') == 0


def test_parse_unknown_user_and_group_raise_keyerror():
    with pytest.raises(KeyError, match='User does not exist'):
        parse_uid('no-such-user-xyz')
    with pytest.raises(KeyError, match='Group does not exist'):
        parse_gid('no-such-group-xyz')


@pytest.mark.skipif(os.getuid() != 0, reason='needs root')
def test_root_with_pickle_is_refused(monkeypatch):
    monkeypatch.delenv('C_FORCE_ROOT', raising=False)
    with pytest.raises(SecurityError, match='C_FORCE_ROOT'):
        check_privileges(['pickle', 'json'])


@pytest.mark.skipif(os.getuid() != 0, reason='needs root')
def test_root_with_pickle_allowed_by_c_force_root(monkeypatch):
    monkeypatch.setenv('C_FORCE_ROOT', '1')
    with pytest.warns(SecurityWarning):
        check_privileges(['pickle'])


@pytest.mark.skipif(os.getuid() != 0, reason='needs root')
def test_root_with_json_only_warns(monkeypatch):
    monkeypatch.delenv('C_FORCE_ROOT', raising=False)
    with pytest.warns(SecurityWarning, match='superuser'):
        check_privileges(['json'])


def test_get_fdmax_positive():
    assert get_fdmax(default=10) > 0


def test_fd_by_path_finds_open_file(tmp_path):
    path = tmp_path / 'f'
    with open(path, 'w') as fh:
        assert fh.fileno() in fd_by_path([str(path)])
    assert fd_by_path([str(tmp_path / 'missing')]) == []


def test_isatty_false_for_objects_without_it():
    assert not isatty(object())


def test_close_open_fds_keeps_listed(tmp_path):
    script = textwrap.dedent(f"""
        import os
        from celery.platforms import close_open_fds
        keep = open({str(tmp_path / 'keep')!r}, 'w')
        drop = open({str(tmp_path / 'drop')!r}, 'w')
        close_open_fds([keep, 1, 2])
        for fh, name in ((keep, 'keep'), (drop, 'drop')):
            try:
                os.fstat(fh.fileno())
                print(name, 'open')
            except OSError:
                print(name, 'closed')
    """)
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         timeout=30, cwd=os.getcwd()).stdout
    assert 'keep open' in out and 'drop closed' in out


def test_detached_runs_in_background_and_writes(tmp_path):
    marker = tmp_path / 'marker'
    logfile = tmp_path / 'log'
    script = textwrap.dedent(f"""
        import os
        from celery.platforms import detached
        with detached(logfile={str(logfile)!r}, workdir={str(tmp_path)!r}):
            with open('marker', 'w') as fh:
                fh.write(str(os.getsid(0)))
    """)
    subprocess.run([sys.executable, '-c', script], timeout=30, check=True, cwd=os.getcwd())
    deadline = time.monotonic() + 10
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() != str(os.getsid(0))  # a new session: no controlling terminal
    assert logfile.exists()  # touched before detaching so errors can't be lost


def test_set_process_title_returns_title():
    assert set_process_title('celeryd', info='-active-') == '[celeryd] -active-'


def test_fake_daemon_context_only_moves_and_sets_umask(tmp_path, monkeypatch):
    from celery.platforms import DaemonContext
    monkeypatch.chdir(os.getcwd())  # restored after the test
    seen = []
    context = DaemonContext(workdir=str(tmp_path), umask='027', fake=True,
                            after_chdir=lambda: seen.append((os.getcwd(), os.umask(0o027))))
    previous_umask = os.umask(0o022)
    try:
        with context:
            assert os.getcwd() == str(tmp_path)
            assert seen == [(str(tmp_path), 0o027)]
            with context:  # re-entering an open context does nothing
                pass
            assert len(seen) == 1
    finally:
        os.umask(previous_umask)
    context.open()  # closed again by the with block: opens anew
    assert len(seen) == 2


def test_daemon_context_without_umask_keeps_the_current_one(tmp_path, monkeypatch):
    from celery.platforms import DaemonContext
    monkeypatch.chdir(os.getcwd())
    previous_umask = os.umask(0o077)
    try:
        DaemonContext(workdir=str(tmp_path), fake=True).open()
        assert os.umask(0o077) == 0o077
    finally:
        os.umask(previous_umask)

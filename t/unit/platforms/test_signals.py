"""Signal names, handler installation and errno names."""
from __future__ import annotations

import errno
import os
import signal

import pytest

from celery.platforms import get_errno_name, ignore_errno, signal_name, signals


@pytest.fixture
def restore_usr2():
    previous = signal.getsignal(signal.SIGUSR2)
    yield
    signal.signal(signal.SIGUSR2, previous)


@pytest.mark.parametrize('name', ['INT', 'SIGINT', signal.SIGINT])
def test_signum_accepts_short_long_and_numbers(name):
    assert signals.signum(name) == signal.SIGINT


def test_signum_rejects_lowercase():
    with pytest.raises(TypeError):
        signals.signum('int')


def test_supported():
    assert signals.supported('SIGTERM')
    assert not signals.supported('SIGNOTREAL')


def test_setitem_installs_handler_by_name(restore_usr2):
    received = []
    signals['SIGUSR2'] = lambda signum, frame: received.append(signum)
    os.kill(os.getpid(), signal.SIGUSR2)
    assert received == [signal.SIGUSR2]
    assert signals['USR2'] is not signals.default


def test_setitem_skips_unknown_signals():
    signals['SIGNOTREAL'] = signals.ignored  # must not raise


def test_ignore_and_reset(restore_usr2):
    signals.ignore('SIGUSR2')
    assert signals['SIGUSR2'] == signal.SIG_IGN
    signals.reset('SIGUSR2')
    assert signals['SIGUSR2'] == signal.SIG_DFL


def test_update_installs_many(restore_usr2):
    signals.update(SIGUSR2=signals.ignored)
    assert signals['SIGUSR2'] == signal.SIG_IGN


def test_signal_name():
    assert signal_name(signal.SIGTERM) == 'TERM'
    assert signal_name(signal.SIGKILL) == 'KILL'


def test_errno_names():
    assert get_errno_name(errno.ENOENT) == 'ENOENT'
    assert get_errno_name('ENOENT') == errno.ENOENT


def test_ignore_errno_suppresses_only_listed():
    with ignore_errno('ENOENT'):
        raise FileNotFoundError(errno.ENOENT, 'gone')
    with pytest.raises(PermissionError):
        with ignore_errno(errno.ENOENT):
            raise PermissionError(errno.EACCES, 'no')

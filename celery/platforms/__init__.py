"""Operating system helpers: pidfiles, daemonizing, privileges, signals and exit codes.

Each idea lives in its own module here; this package gathers them under the
one name programs import (``celery.platforms.X``). Only the standard library
is imported at module level so that importing stays cheap for programs
that never daemonize.
"""
from __future__ import annotations

# Everything is imported here, also names outside __all__ (texts, flags,
# write_stream) that callers read as ``celery.platforms.X``.
from celery.platforms.daemon import DAEMON_UMASK, DAEMON_WORKDIR, DaemonContext, detached
from celery.platforms.fds import (
    DEFAULT_MAXFD,
    close_open_fds,
    fd_by_path,
    get_fdmax,
    isatty,
    maybe_fileno,
    write_stream,
)
from celery.platforms.pidfile import (
    PIDFILE_FLAGS,
    PIDFILE_MODE,
    PIDLOCKED,
    PIDFile,
    LockFailed,
    Pidfile,
    create_pidlock,
)
from celery.platforms.privileges import (
    ASSUMING_ROOT,
    ROOT_DISALLOWED,
    ROOT_DISCOURAGED,
    check_privileges,
    initgroups,
    maybe_drop_privileges,
    parse_gid,
    parse_uid,
    setgid,
    setgroups,
    setuid,
)
from celery.platforms.signal_handlers import (
    SIGMAP,
    SIGNAMES,
    Signals,
    get_signal,
    ignore_signal,
    reset_signal,
    set_pdeathsig,
    signal_name,
    signals,
)
from celery.platforms.system import (
    EX_CANTCREAT,
    EX_FAILURE,
    EX_OK,
    EX_UNAVAILABLE,
    EX_USAGE,
    IS_WINDOWS,
    SYSTEM,
    IS_macOS,
    get_errno_name,
    ignore_errno,
    pyimplementation,
)
from celery.platforms.titles import set_mp_process_title, set_process_title, strargv

__all__ = (
    'EX_OK', 'EX_FAILURE', 'EX_UNAVAILABLE', 'EX_USAGE', 'EX_CANTCREAT',
    'SYSTEM', 'IS_macOS', 'IS_WINDOWS', 'LockFailed',
    'get_fdmax', 'close_open_fds', 'fd_by_path', 'isatty', 'maybe_fileno',
    'Pidfile', 'PIDFile', 'create_pidlock', 'DaemonContext', 'detached',
    'parse_uid', 'parse_gid', 'setgroups', 'initgroups', 'setgid', 'setuid',
    'maybe_drop_privileges', 'check_privileges',
    'Signals', 'signals', 'signal_name', 'SIGMAP', 'SIGNAMES', 'set_pdeathsig', 'get_errno_name', 'ignore_errno',
    'set_process_title', 'set_mp_process_title', 'strargv', 'pyimplementation',
)

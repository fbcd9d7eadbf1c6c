"""Operating system helpers: pidfiles, daemonizing, privileges, signals and exit codes.

Only the standard library is imported at module level so that importing
this module stays cheap for programs that never daemonize.
"""
from __future__ import annotations

import atexit
import errno
import numbers
import os
import platform as _platform
import signal as _signal
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from celery.exceptions import CeleryError, SecurityError, SecurityWarning

try:
    import grp
    import pwd
    import resource
except ImportError:  # Windows has none of these.
    grp = pwd = resource = None  # type: ignore[assignment]

# Looked up once: a failed import searches every path entry, and pool
# children set their titles right after forking (the search would copy
# shared pages into each of them).
try:
    from setproctitle import setproctitle as _setproctitle
except ImportError:  # optional: without it process titles stay as they are
    _setproctitle = None

__all__ = (
    'EX_OK', 'EX_FAILURE', 'EX_UNAVAILABLE', 'EX_USAGE', 'EX_CANTCREAT',
    'SYSTEM', 'IS_macOS', 'IS_WINDOWS', 'LockFailed',
    'get_fdmax', 'close_open_fds', 'fd_by_path', 'isatty', 'maybe_fileno',
    'Pidfile', 'create_pidlock', 'DaemonContext', 'detached',
    'parse_uid', 'parse_gid', 'setgroups', 'initgroups', 'setgid', 'setuid',
    'maybe_drop_privileges', 'check_privileges',
    'Signals', 'signals', 'signal_name', 'get_errno_name', 'ignore_errno',
    'set_process_title', 'set_mp_process_title', 'strargv', 'pyimplementation',
)

EX_OK = getattr(os, 'EX_OK', 0)
EX_FAILURE = 1
EX_UNAVAILABLE = getattr(os, 'EX_UNAVAILABLE', 69)
EX_USAGE = getattr(os, 'EX_USAGE', 64)
EX_CANTCREAT = getattr(os, 'EX_CANTCREAT', 73)

SYSTEM = _platform.system()
IS_macOS = SYSTEM == 'Darwin'
IS_WINDOWS = SYSTEM == 'Windows'

DAEMON_WORKDIR = '/'
DAEMON_UMASK = 0
PIDFILE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY
PIDFILE_MODE = 0o644

#: Fallback when the limit on open files is unlimited or unknown.
DEFAULT_MAXFD = 2048

PIDLOCKED = """ERROR: Pidfile ({0}) already exists.
Seems we're already running? (pid: {1})"""

ROOT_DISALLOWED = """\
Running a worker with superuser privileges when the
worker accepts messages serialized with pickle is a very bad idea!

If you really want to continue then you have to set the C_FORCE_ROOT
environment variable (but please think about this before you do).

User information: uid={uid} euid={euid} gid={gid} egid={egid}
"""

ROOT_DISCOURAGED = """\
You're running the worker with superuser privileges: this is
absolutely not recommended!

Please specify a different user using the --uid option.

User information: uid={uid} euid={euid} gid={gid} egid={egid}
"""

ASSUMING_ROOT = """\
An entry for the specified gid or egid was not found.
We're assuming this is a potential security issue.
"""


class LockFailed(CeleryError):
    """The pidfile could not be created or does not hold our pid."""


def pyimplementation() -> str:
    """Return a string naming the Python implementation and its version."""
    name = _platform.python_implementation()
    if name == 'CPython':
        return f'CPython {_platform.python_version()}'
    return f'{name} {_platform.python_version()}'


def isatty(fh: Any) -> bool:
    """Return True if ``fh`` is a terminal; False for objects without ``isatty``."""
    try:
        return bool(fh.isatty())
    except (AttributeError, ValueError):
        return False


def maybe_fileno(f: Any) -> int | None:
    """Return the file descriptor of ``f`` (an int or file-like), or None."""
    if isinstance(f, numbers.Integral):
        return int(f)
    try:
        return f.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def get_fdmax(default: int | None = None) -> int | None:
    """Return the maximum number of open file descriptors, or ``default`` if unlimited."""
    try:
        return os.sysconf('SC_OPEN_MAX')
    except (AttributeError, ValueError, OSError):
        pass
    if resource is None:
        return default
    fdmax = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return default if fdmax == resource.RLIM_INFINITY else fdmax


def close_open_fds(keep: Iterable[Any] | None = None) -> None:
    """Close every open file descriptor except the ones in ``keep`` (fds or files)."""
    keep_fds = {fd for fd in map(maybe_fileno, keep or ()) if fd is not None}
    fdmax = get_fdmax(default=DEFAULT_MAXFD) or DEFAULT_MAXFD
    start = 0
    for fd in sorted(keep_fds) + [fdmax]:
        if fd > start:
            os.closerange(start, min(fd, fdmax))
        start = max(start, fd + 1)


def fd_by_path(paths: Iterable[str]) -> list[int]:
    """Return the open file descriptors of this process that refer to ``paths``."""
    stats = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        stats.add((st.st_dev, st.st_ino))
    if not stats:
        return []
    found = []
    for fd in range(get_fdmax(default=DEFAULT_MAXFD) or DEFAULT_MAXFD):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in stats:
            found.append(fd)
    return found


class Pidfile:
    """A pidfile used as a lock so two daemons can't share one name."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))

    def __enter__(self) -> Pidfile:
        return self.acquire()

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

    def acquire(self) -> Pidfile:
        """Create the pidfile holding this process' pid; raise :exc:`LockFailed` if taken."""
        try:
            self.write_pid()
        except OSError as exc:
            raise LockFailed(f'could not create pidfile {self.path!r}: {exc}') from exc
        return self

    def is_locked(self) -> bool:
        """Return True if the pidfile exists."""
        return os.path.exists(self.path)

    def release(self) -> None:
        """Remove the pidfile."""
        self.remove()

    def read_pid(self) -> int | None:
        """Return the pid in the file, None if there's no file; ValueError if garbled."""
        try:
            with open(self.path) as fh:
                line = fh.readline()
        except FileNotFoundError:
            return None
        if not line.strip() or not line.endswith('\n'):
            raise ValueError(f'pidfile {self.path!r} contents invalid (partially written?).')
        try:
            return int(line.strip())
        except ValueError:
            raise ValueError(f'pidfile {self.path!r} contents invalid: {line.strip()!r}.') from None

    def remove(self) -> None:
        """Remove the pidfile, ignoring that it may already be gone."""
        try:
            os.unlink(self.path)
        except (FileNotFoundError, PermissionError):
            pass

    def remove_if_stale(self) -> bool:
        """Remove the pidfile if its process is gone; return True if removed."""
        try:
            pid = self.read_pid()
        except ValueError:
            print(f'Broken pidfile found {self.path!r} - removing it.', file=sys.stderr)
            self.remove()
            return True
        if not pid:
            self.remove()
            return True
        if pid == os.getpid():
            # A pidfile naming ourselves is left over from a process we replaced (e.g. exec).
            self.remove()
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print(f'Stale pidfile exists - removing it (pid {pid} is gone).', file=sys.stderr)
            self.remove()
            return True
        except PermissionError:
            return False
        return False

    def write_pid(self) -> None:
        """Write our pid into a newly created pidfile and verify it on disk."""
        pid = os.getpid()
        content = f'{pid}\n'
        fd = os.open(self.path, PIDFILE_FLAGS, PIDFILE_MODE)
        with os.fdopen(fd, 'w') as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        with open(self.path) as fh:
            if fh.read() != content:
                raise LockFailed(f"Inconsistency: pidfile {self.path!r} content doesn't match at re-read")


def create_pidlock(pidfile: str) -> Pidfile:
    """Create and verify a pidfile, exiting with EX_CANTCREAT if another process holds it.

    The pidfile is removed again when the program exits.
    """
    pidlock = _create_pidlock(pidfile)
    atexit.register(pidlock.release)
    return pidlock


def _create_pidlock(pidfile: str) -> Pidfile:
    pidlock = Pidfile(pidfile)
    if pidlock.is_locked() and not pidlock.remove_if_stale():
        print(PIDLOCKED.format(pidfile, pidlock.read_pid()), file=sys.stderr)
        raise SystemExit(EX_CANTCREAT)
    try:
        pidlock.acquire()
    except LockFailed as exc:
        print(f'ERROR: {exc}', file=sys.stderr)
        raise SystemExit(EX_CANTCREAT) from exc
    return pidlock


def _parse_umask(umask: int | str | None) -> int | None:
    if isinstance(umask, str):
        return int(umask, 8)
    return umask


class DaemonContext:
    """Context that turns the current process into a daemon (double fork, new session)."""

    _is_open = False

    def __init__(self, pidfile: str | None = None, workdir: str | None = None,
                 umask: int | str | None = None, fake: bool = False,
                 after_chdir: Callable[[], Any] | None = None,
                 after_forkers: bool = True, **kwargs: Any) -> None:
        self.workdir = workdir or DAEMON_WORKDIR
        self.umask = _parse_umask(umask)
        self.fake = fake
        self.after_chdir = after_chdir
        self.after_forkers = after_forkers
        self.stdfds = (sys.stdin, sys.stdout, sys.stderr)

    def redirect_to_null(self, fd: int | None) -> None:
        """Point ``fd`` at /dev/null."""
        if fd is not None:
            dest = os.open(os.devnull, os.O_RDWR)
            os.dup2(dest, fd)
            os.close(dest)

    def open(self) -> None:
        """Detach: fork twice, chdir, set umask, close fds and silence stdio."""
        if self._is_open:
            return
        if not self.fake:
            self._detach()
        os.chdir(self.workdir)
        if self.umask is not None:
            os.umask(self.umask)
        if self.after_chdir:
            self.after_chdir()
        if not self.fake:
            # Keep /dev/urandom open: os.urandom may cache an fd to it.
            keep = list(self.stdfds) + fd_by_path(['/dev/urandom'])
            close_open_fds(keep)
            for fh in self.stdfds:
                self.redirect_to_null(maybe_fileno(fh))
            if self.after_forkers:
                from billiard import util as mputil
                mputil._run_after_forkers()
        self._is_open = True

    __enter__ = open

    def close(self, *args: Any) -> None:
        """Mark the context closed (the process stays a daemon)."""
        self._is_open = False

    __exit__ = close

    def _detach(self) -> None:
        if os.fork() == 0:      # first child
            os.setsid()         # new session, no controlling terminal
            if os.fork() > 0:   # second child can never regain a terminal
                os._exit(0)
        else:
            os._exit(0)


def detached(logfile: str | None = None, pidfile: str | None = None,
             uid: int | str | None = None, gid: int | str | None = None,
             umask: int | str = 0, workdir: str | None = None, fake: bool = False,
             **opts: Any) -> DaemonContext:
    """Return a :class:`DaemonContext` that detaches the current process.

    Privileges are dropped first, and the logfile and pidfile are checked
    before detaching: once stdio is closed an error there would be silent.
    """
    if resource is None:
        raise CeleryError('This platform does not support detach.')
    workdir = os.getcwd() if workdir is None else workdir
    signals.reset('SIGCLD')  # children must be reaped by the default handler
    maybe_drop_privileges(uid=uid, gid=gid)

    def after_chdir_do() -> None:
        if logfile:
            open(logfile, 'a').close()
        if pidfile:
            # Only verifies the pidfile is not held; the program writes it later.
            _create_pidlock(pidfile).release()

    return DaemonContext(umask=umask, workdir=workdir, fake=fake,
                         after_chdir=after_chdir_do, **opts)


def parse_uid(uid: int | str) -> int:
    """Return the user id for a uid or user name; KeyError if the user doesn't exist."""
    try:
        return int(uid)
    except ValueError:
        try:
            return pwd.getpwnam(uid).pw_uid
        except (AttributeError, KeyError):
            raise KeyError(f'User does not exist: {uid}') from None


def parse_gid(gid: int | str) -> int:
    """Return the group id for a gid or group name; KeyError if the group doesn't exist."""
    try:
        return int(gid)
    except ValueError:
        try:
            return grp.getgrnam(gid).gr_gid
        except (AttributeError, KeyError):
            raise KeyError(f'Group does not exist: {gid}') from None


def setgroups(groups: Iterable[int]) -> None:
    """Set the supplementary group list, shortening it if the system's limit is lower."""
    groups = list(groups)
    try:
        groups = groups[:os.sysconf('SC_NGROUPS_MAX')]
    except (AttributeError, ValueError, OSError):
        pass
    try:
        os.setgroups(groups)
    except PermissionError:
        # Unprivileged: fine only if we already are in exactly these groups.
        if any(group not in groups for group in os.getgroups()):
            raise


def initgroups(uid: int, gid: int) -> None:
    """Set the supplementary groups of ``uid`` (plus ``gid``) for this process."""
    if not pwd:
        return
    username = pwd.getpwuid(uid)[0]
    if hasattr(os, 'initgroups'):
        return os.initgroups(username, gid)
    groups = [gr.gr_gid for gr in grp.getgrall() if username in gr.gr_mem]
    setgroups(groups)


def setgid(gid: int) -> None:
    """Set the real and effective group id."""
    os.setgid(parse_gid(gid))


def setuid(uid: int) -> None:
    """Set the real and effective user id."""
    os.setuid(parse_uid(uid))


def maybe_drop_privileges(uid: int | str | None = None, gid: int | str | None = None) -> None:
    """Change the process' uid/gid when given; raise :exc:`SecurityError` if root remains."""
    if IS_WINDOWS:
        return
    if os.geteuid() and not os.getuid():
        # Effective id non-root but real id root: a setuid wrapper we can't trust.
        raise SecurityError('contact support')
    uid = parse_uid(uid) if uid else None
    gid = parse_gid(gid) if gid else None
    if uid:
        _setuid(uid, gid)
    elif gid:
        setgid(gid)
    if uid and not os.getuid() and not os.geteuid():
        raise SecurityError('Still root uid after drop privileges!')
    if gid and not os.getgid() and not os.getegid():
        raise SecurityError('Still root gid after drop privileges!')


def _setuid(uid: int, gid: int | None) -> None:
    if not gid and pwd:
        gid = pwd.getpwuid(uid).pw_gid
    if gid:
        initgroups(uid, gid)
        setgid(gid)
    setuid(uid)
    try:
        setuid(0)
    except PermissionError:
        return  # good: root can't be regained.
    raise SecurityError('non-root user able to restore privileges after setuid.')


def check_privileges(accept_content: Iterable[str]) -> None:
    """Refuse to run as root while accepting pickle, unless ``C_FORCE_ROOT`` is set; warn otherwise."""
    if IS_WINDOWS or pwd is None:
        return
    ids = {'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid(), 'egid': os.getegid()}
    if all(ids.values()):
        return
    accept = set(accept_content or ())
    uses_pickle = bool(accept & {'pickle', 'application/x-python-serialize'})
    if uses_pickle and not os.environ.get('C_FORCE_ROOT'):
        raise SecurityError(ROOT_DISALLOWED.format(**ids))
    warnings.warn(SecurityWarning(ROOT_DISCOURAGED.format(**ids)), stacklevel=2)


class Signals:
    """Convenient access to signal handlers by name (``signals['INT'] = handler``)."""

    ignored = _signal.SIG_IGN
    default = _signal.SIG_DFL

    def arm_alarm(self, seconds: float) -> None:
        """Deliver SIGALRM after ``seconds`` (fractions allowed)."""
        _signal.setitimer(_signal.ITIMER_REAL, seconds)

    def reset_alarm(self) -> None:
        """Cancel a pending alarm."""
        _signal.alarm(0)

    def supported(self, name: str) -> bool:
        """Return True if this platform has the signal ``name``."""
        try:
            self.signum(name)
        except AttributeError:
            return False
        return True

    def signum(self, name: int | str) -> int:
        """Return the number of a signal given by name (``INT`` or ``SIGINT``) or number."""
        if isinstance(name, numbers.Integral):
            return int(name)
        if not isinstance(name, str) or not name.isupper():
            raise TypeError(f'signal name must be an uppercase string, not {name!r}')
        if not name.startswith('SIG'):
            name = 'SIG' + name
        return getattr(_signal, name)

    def reset(self, *signal_names: int | str) -> None:
        """Restore the default handler for the named signals that exist here."""
        self.update((sig, self.default) for sig in signal_names)

    def ignore(self, *names: int | str) -> None:
        """Ignore the named signals that exist here."""
        self.update((sig, self.ignored) for sig in names)

    def __getitem__(self, name: int | str) -> Any:
        return _signal.getsignal(self.signum(name))

    def __setitem__(self, name: int | str, handler: Any) -> None:
        """Install ``handler`` for signal ``name``; unknown signals are skipped."""
        try:
            _signal.signal(self.signum(name), handler)
        except (AttributeError, ValueError):
            pass

    def update(self, _d_: Iterable[tuple[Any, Any]] | dict[Any, Any] | None = None,
               **sigmap: Any) -> None:
        """Install several handlers at once."""
        items = _d_.items() if isinstance(_d_, dict) else (_d_ or ())
        for name, handler in [*items, *sigmap.items()]:
            self[name] = handler


signals = Signals()
get_signal = signals.signum
reset_signal = signals.reset
ignore_signal = signals.ignore


def signal_name(signum: int) -> str:
    """Return the name of signal number ``signum`` without the ``SIG`` prefix."""
    return _signal.Signals(signum).name[3:]


def get_errno_name(n: int | str) -> str | int:
    """Return the symbolic name of errno ``n`` (``ENOENT``); names pass through."""
    if isinstance(n, str):
        return getattr(errno, n)
    return errno.errorcode.get(n, n)


@contextmanager
def ignore_errno(*errnos: int | str, types: tuple[type[BaseException], ...] = (Exception,)) -> Iterator[None]:
    """Suppress errors whose ``errno`` is one of ``errnos`` (numbers or names)."""
    numbers_ = {get_errno_name(e) if isinstance(e, str) else e for e in errnos}
    try:
        yield
    except types as exc:
        if not hasattr(exc, 'errno') or exc.errno not in numbers_:
            raise


def strargv(argv: list[str]) -> str:
    """Return the arguments of ``argv`` after the program name, as one string."""
    return ' '.join(argv[1:]) if len(argv) > 1 else ''


def set_process_title(progname: str, info: str | None = None) -> str:
    """Set the process title shown by ``ps`` (needs the optional ``setproctitle`` module)."""
    proctitle = f'[{progname}]'
    proctitle = f'{proctitle} {info}' if info else proctitle
    if _setproctitle is not None:
        _setproctitle(proctitle)
    return proctitle


def set_mp_process_title(progname: str, info: str | None = None,
                         hostname: str | None = None) -> str:
    """Set the process title including the current (child) process name."""
    if hostname:
        progname = f'{progname}: {hostname}'
    from celery.utils.log import current_process
    name = current_process().name
    return set_process_title(f'{progname}:{name}', info=info)


def write_stream(stream: IO[str] | None, text: str) -> None:
    """Write ``text`` and a newline to ``stream``, ignoring a closed or missing stream."""
    if stream is None:
        return
    try:
        stream.write(text + '\n')
        stream.flush()
    except (OSError, ValueError):
        pass

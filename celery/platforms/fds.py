"""File descriptors: finding, closing and writing to them safely."""
from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from typing import IO, Any

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

__all__ = ('get_fdmax', 'close_open_fds', 'fd_by_path', 'isatty', 'maybe_fileno', 'write_stream')

#: Fallback when the limit on open files is unlimited or unknown.
DEFAULT_MAXFD = 2048


def isatty(fh: object) -> bool:
    """Return True if ``fh`` is a terminal; False for objects without ``isatty``."""
    check = getattr(fh, 'isatty', None)
    if check is None:
        return False
    try:
        return bool(check())
    except (AttributeError, ValueError):
        return False


def maybe_fileno(f: object) -> int | None:
    """Return the file descriptor of ``f`` (an int or file-like), or None."""
    if isinstance(f, numbers.Integral):
        return int(f)
    fileno = getattr(f, 'fileno', None)
    if fileno is None:
        return None
    try:
        fd: int = fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd


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


def _fd_limit() -> int:
    return get_fdmax(default=DEFAULT_MAXFD) or DEFAULT_MAXFD


def close_open_fds(keep: Iterable[Any] | None = None) -> None:
    """Close every open file descriptor except the ones in ``keep`` (fds or files)."""
    keep_fds = {fd for fd in map(maybe_fileno, keep or ()) if fd is not None}
    fdmax = _fd_limit()
    start = 0
    # Close the gaps between the kept descriptors, one range at a time.
    for fd in sorted(keep_fds) + [fdmax]:
        if fd > start:
            os.closerange(start, min(fd, fdmax))
        start = max(start, fd + 1)


def fd_by_path(paths: Iterable[str]) -> list[int]:
    """Return the open file descriptors of this process that refer to ``paths``."""
    wanted = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        wanted.add((st.st_dev, st.st_ino))
    if not wanted:
        return []
    found = []
    for fd in range(_fd_limit()):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in wanted:
            found.append(fd)
    return found


def write_stream(stream: IO[str] | None, text: str) -> None:
    """Write ``text`` and a newline to ``stream``, ignoring a closed or missing stream."""
    if stream is None:
        return
    try:
        stream.write(text + '\n')
        stream.flush()
    except (OSError, ValueError):
        pass

"""Users and groups: dropping root, and refusing to run as root with pickle."""
from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

from celery.exceptions import SecurityError, SecurityWarning
from celery.platforms.system import IS_WINDOWS

try:
    import grp
    import pwd
except ImportError:  # Windows has neither.
    grp = pwd = None  # type: ignore[assignment]

__all__ = ('parse_uid', 'parse_gid', 'setgroups', 'initgroups', 'setgid', 'setuid',
           'maybe_drop_privileges', 'check_privileges')

# Celery's user-visible texts, kept verbatim.
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

#: Content types that let a message run arbitrary code when decoded.
PICKLE_CONTENT_TYPES = frozenset({'pickle', 'application/x-python-serialize'})


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
    setgroups([group.gr_gid for group in grp.getgrall() if username in group.gr_mem])


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
    uses_pickle = not PICKLE_CONTENT_TYPES.isdisjoint(accept_content or ())
    if uses_pickle and not os.environ.get('C_FORCE_ROOT'):
        raise SecurityError(ROOT_DISALLOWED.format(**ids))
    warnings.warn(SecurityWarning(ROOT_DISCOURAGED.format(**ids)), stacklevel=2)

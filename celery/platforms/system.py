"""Which platform this is, the programs' exit codes, and errno names."""
from __future__ import annotations

import errno
import os
import platform as _platform
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = (
    'SYSTEM', 'IS_macOS', 'IS_WINDOWS',
    'EX_OK', 'EX_FAILURE', 'EX_UNAVAILABLE', 'EX_USAGE', 'EX_CANTCREAT',
    'pyimplementation', 'get_errno_name', 'ignore_errno',
)

SYSTEM = _platform.system()
IS_macOS = SYSTEM == 'Darwin'
IS_WINDOWS = SYSTEM == 'Windows'

# Celery's exit code names, with the sysexits(3) values where os lacks them.
EX_OK = getattr(os, 'EX_OK', 0)
EX_FAILURE = 1
EX_UNAVAILABLE = getattr(os, 'EX_UNAVAILABLE', 69)
EX_USAGE = getattr(os, 'EX_USAGE', 64)
EX_CANTCREAT = getattr(os, 'EX_CANTCREAT', 73)


def pyimplementation() -> str:
    """Return a string naming the Python implementation and its version."""
    return f'{_platform.python_implementation()} {_platform.python_version()}'


def get_errno_name(n: int | str) -> str | int:
    """Translate between errno numbers and names: ``ENOENT`` -> 2, 2 -> ``ENOENT``."""
    if isinstance(n, str):
        number: int = getattr(errno, n)
        return number
    return errno.errorcode.get(n, n)


@contextmanager
def ignore_errno(*errnos: int | str, **kwargs: Any) -> Iterator[None]:
    """Suppress errors whose ``errno`` is one of ``errnos`` (numbers or names).

    ``types`` (keyword) are the exception classes looked at (default :exc:`Exception`).
    """
    types: tuple[type[BaseException], ...] = kwargs.pop('types', (Exception,))
    if kwargs:
        raise TypeError(f'ignore_errno() got unexpected keyword arguments {sorted(kwargs)}')
    ignored = {get_errno_name(e) if isinstance(e, str) else e for e in errnos}
    try:
        yield
    except types as exc:
        if not hasattr(exc, 'errno') or exc.errno not in ignored:
            raise

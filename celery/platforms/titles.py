"""Process titles: what ``ps`` shows for workers, pool children and beat."""
from __future__ import annotations

# Looked up once: a failed import searches every path entry, and pool
# children set their titles right after forking (the search would copy
# shared pages into each of them).
try:
    from setproctitle import setproctitle as _setproctitle
except ImportError:  # optional: without it process titles stay as they are
    _setproctitle = None

__all__ = ('strargv', 'set_process_title', 'set_mp_process_title')


def strargv(argv: list[str]) -> str:
    """Return the arguments of ``argv`` after the program name, as one string."""
    return ' '.join(argv[1:]) if len(argv) > 1 else ''


def set_process_title(progname: str, info: str | None = None) -> str:
    """Set the process title shown by ``ps`` (needs the optional ``setproctitle`` module)."""
    proctitle = f'[{progname}] {info}' if info else f'[{progname}]'
    if _setproctitle is not None:
        _setproctitle(proctitle)
    return proctitle


def set_mp_process_title(progname: str, info: str | None = None,
                         hostname: str | None = None) -> str:
    """Set the process title including the current (child) process name."""
    if hostname:
        progname = f'{progname}: {hostname}'
    from celery.utils.log import current_process
    return set_process_title(f'{progname}:{current_process().name}', info=info)

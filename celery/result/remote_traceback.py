"""Worker tracebacks re-raised in the client (:setting:`task_remote_tracebacks`)."""
from __future__ import annotations

from types import ModuleType

__all__ = ('import_tblib', 'with_remote_traceback')


def import_tblib() -> ModuleType | None:
    """The ``tblib`` module (``pip install celery[tblib]``), or None when absent."""
    try:
        import tblib
    except ImportError:
        return None
    module: ModuleType = tblib
    return module


def with_remote_traceback(exc: BaseException, traceback_text: str | None) -> BaseException:
    """``exc`` carrying the worker's frames from ``traceback_text`` as its traceback.

    Raising it then shows where the task failed in the worker, below the
    client's own frames.  Without tblib, or when the text cannot be read as
    a traceback, ``exc`` is returned unchanged.
    """
    tblib = import_tblib()
    if tblib is None or not traceback_text or not isinstance(exc, BaseException):
        return exc
    try:
        remote = tblib.Traceback.from_string(traceback_text, strict=False).as_traceback()
    except (tblib.TracebackParseError, ValueError, TypeError):
        return exc
    return exc.with_traceback(remote)

"""Logging helpers: Celery's logger hierarchy, coloured output and stdout redirection."""
from __future__ import annotations

import logging
import numbers
import os
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, ClassVar

from celery.utils.term import colored

__all__ = (
    'LOG_LEVELS',
    'ColorFormatter',
    'LoggingProxy',
    'base_logger',
    'get_logger',
    'get_multiprocessing_logger',
    'get_task_logger',
    'in_sighandler',
    'mlevel',
    'reset_multiprocessing_logger',
    'set_in_sighandler',
)

_in_sighandler = False

RESERVED_LOGGER_NAMES = {'celery', 'celery.task'}
#: Set (environment variable ``MP_LOG``) to have the multiprocessing logger log
#: at the worker's level instead of errors only.
MP_LOG = os.environ.get('MP_LOG', False)

_LEVEL_NAMES = ('NOTSET', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')

#: Level names to numbers and numbers to names.
LOG_LEVELS: dict[Any, Any] = {
    **{name: logging.getLevelName(name) for name in _LEVEL_NAMES},
    **{logging.getLevelName(name): name for name in _LEVEL_NAMES},
    'WARN': logging.WARNING, 'FATAL': logging.FATAL,
}


def set_in_sighandler(value: bool) -> None:
    """Flag that the current code runs inside a signal handler."""
    global _in_sighandler
    _in_sighandler = value


@contextmanager
def in_sighandler() -> Iterator[None]:
    """Context that flags code as running inside a signal handler."""
    set_in_sighandler(True)
    try:
        yield
    finally:
        set_in_sighandler(False)


def logger_isa(l: logging.Logger, p: logging.Logger, max: int = 1000) -> bool:  # noqa: E741
    """Return True if ``p`` is logger ``l`` or one of its ancestors."""
    this: Any = l
    seen = set()
    for _ in range(max):
        if this == p:
            return True
        if this in seen:
            raise RuntimeError(f'Logger {l.name!r} parents recursive')
        seen.add(this)
        this = this.parent
        if not this:
            break
    else:
        raise RuntimeError(f'Logger hierarchy exceeds {max}')
    return False


def _using_logger_parent(parent: logging.Logger, logger: logging.Logger) -> logging.Logger:
    if not logger_isa(logger, parent):
        logger.parent = parent
    return logger


def get_logger(name: str | logging.Logger) -> logging.Logger:
    """Return the logger ``name``, attached to the ``celery`` hierarchy when detached."""
    logger = name if isinstance(name, logging.Logger) else logging.getLogger(name)
    if logging.root not in (logger, logger.parent) and logger is not base_logger:
        logger = _using_logger_parent(base_logger, logger)
    return logger


base_logger = logger = logging.getLogger('celery')
task_logger = get_logger('celery.task')
worker_logger = get_logger('celery.worker')


def get_task_logger(name: str) -> logging.Logger:
    """Return a logger for tasks, parented to ``celery.task``."""
    if name in RESERVED_LOGGER_NAMES:
        raise RuntimeError(f'Logger name {name!r} is reserved!')
    return _using_logger_parent(task_logger, get_logger(name))


def mlevel(level: int | str | None) -> Any:
    """Convert a level name (``'info'``) to its number; numbers pass through."""
    if level and not isinstance(level, numbers.Integral):
        try:
            return LOG_LEVELS[str(level).upper()]
        except KeyError:
            raise ValueError(
                f'Unknown log level {level!r}: use one of DEBUG, INFO, WARNING, '
                f'ERROR, CRITICAL or a number') from None
    return level


def _safe_str(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    try:
        return str(obj)
    except Exception as exc:  # noqa: BLE001 - anything may be logged
        return f'<Unrepresentable {type(obj)!r}: {exc!r}>'


class ColorFormatter(logging.Formatter):
    """Formatter that colours each record by its level."""

    COLORS = colored().names
    colors: ClassVar[dict[str, Any]] = {
        'DEBUG': COLORS['blue'],
        'WARNING': COLORS['yellow'],
        'ERROR': COLORS['red'],
        'CRITICAL': COLORS['magenta'],
    }

    def __init__(self, fmt: str | None = None, use_color: bool = True,
                 datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self.use_color = use_color

    def formatException(self, ei: Any) -> str:
        """Format exception info; ``True`` means the current exception."""
        if ei and not isinstance(ei, tuple):
            ei = sys.exc_info()
        return super().formatException(ei)

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record``, never raising for unrepresentable messages."""
        try:
            msg = super().format(record)
        except Exception as exc:  # noqa: BLE001 - a bad log call must not kill the caller
            msg = self._format_unrepresentable(record, exc)
        color = self.colors.get(record.levelname)
        if color and self.use_color:
            return str(color(_safe_str(msg)))
        return _safe_str(msg)

    def _format_unrepresentable(self, record: logging.LogRecord, exc: Exception) -> str:
        prev_msg, prev_args, prev_exc_info = record.msg, record.args, record.exc_info
        record.msg = f'<Unrepresentable {type(prev_msg)!r}: {exc!r}>'
        record.args, record.exc_info = (), None
        try:
            return super().format(record)
        finally:
            record.msg, record.args, record.exc_info = prev_msg, prev_args, prev_exc_info


class LoggingProxy:
    """File-like object that forwards writes to a logger (to redirect stdout/stderr)."""

    mode = 'w'
    name = None
    closed = False
    loglevel = logging.ERROR
    _thread = threading.local()

    def __init__(self, logger: logging.Logger, loglevel: int | str | None = None) -> None:
        self.logger = logger
        self.loglevel = mlevel(loglevel or self.logger.level or self.loglevel)
        self._safewrap_handlers()

    def _safewrap_handlers(self) -> None:
        # A handler failing would print to stderr, which may be this proxy.
        for handler in self.logger.handlers:
            handler.handleError = _print_to_real_stderr  # type: ignore[method-assign]

    def write(self, data: str) -> int:
        """Log ``data`` (minus trailing newlines); return the number of chars logged."""
        if getattr(self._thread, 'recurse_protection', False):
            # Logging itself wrote to stdout/stderr: drop it instead of recursing.
            return 0
        if data and not self.closed:
            self._thread.recurse_protection = True
            try:
                safe_data = _safe_str(data).rstrip('\n')
                if safe_data:
                    self.logger.log(self.loglevel, safe_data)
                    return len(safe_data)
            finally:
                self._thread.recurse_protection = False
        return 0

    def writelines(self, sequence: Iterable[str]) -> None:
        """Write every string in ``sequence``."""
        for part in sequence:
            self.write(part)

    def flush(self) -> None:
        """Nothing to flush: records go straight to the logger."""

    def close(self) -> None:
        """Stop forwarding writes."""
        self.closed = True

    def isatty(self) -> bool:
        """Never a terminal."""
        return False

    def fileno(self) -> None:
        """There is no file descriptor behind the proxy."""


def _print_to_real_stderr(record: logging.LogRecord) -> None:
    try:
        traceback.print_exc(None, sys.__stderr__)
    except OSError:
        pass


def get_multiprocessing_logger() -> logging.Logger | None:
    """Return billiard's multiprocessing logger, if billiard is installed."""
    try:
        from billiard import util
    except ImportError:
        return None
    logger: logging.Logger = util.get_logger()
    return logger


def reset_multiprocessing_logger() -> None:
    """Put billiard's multiprocessing logger back as billiard sets it up: not propagating."""
    try:
        from billiard import util
    except ImportError:
        return
    # (Through billiard's public get_logger(): its module globals are its own.)
    util.get_logger().propagate = False


def current_process() -> Any:
    """Return the current billiard process object."""
    from billiard.process import current_process as _current_process
    return _current_process()


def current_process_index(base: int = 1) -> int | None:
    """Return the pool index of this process (plus ``base``), or None outside a pool."""
    index = getattr(current_process(), 'index', None)
    return index + base if index is not None else index


def iter_open_logger_fds() -> Iterator[IO[Any]]:
    """Yield the stream of every logging handler that has one."""
    seen = set()
    loggers = [*logging.Logger.manager.loggerDict.values(), logging.getLogger(None)]
    for each in loggers:
        for handler in getattr(each, 'handlers', ()):
            if handler not in seen:
                seen.add(handler)
                stream = getattr(handler, 'stream', None)
                if stream is not None:
                    yield stream

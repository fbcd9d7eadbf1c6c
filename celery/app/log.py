"""Logging set-up for the worker: handlers, formats, task loggers, stdout redirect."""
from __future__ import annotations

import logging
import os
import sys
import warnings
from logging.handlers import WatchedFileHandler
from typing import TYPE_CHECKING, Any, TextIO

from celery import signals
from celery._state import get_current_task
from celery.exceptions import CDeprecationWarning, CPendingDeprecationWarning
from celery.utils.log import (
    MP_LOG, ColorFormatter, LoggingProxy, get_logger, get_multiprocessing_logger, mlevel,
    reset_multiprocessing_logger,
)
from celery.utils.nodenames import node_format

if TYPE_CHECKING:
    from typing import TypeAlias

    from celery.app.base import Celery
    from celery.utils.dispatch.signal import Receiver
    from celery.utils.term import colored as ColoredText

    #: A level name (``'INFO'``) or number.
    LogLevel: TypeAlias = 'int | str | None'
    #: A file name (``%n``-style keys expanded), or an open stream.
    LogFile: TypeAlias = 'str | TextIO | None'
    #: What ``setup_logging`` receivers answered (None: logging was set up already).
    Handled: TypeAlias = 'list[tuple[Receiver, object]] | None'

__all__ = ('TaskFormatter', 'Logging')

class TaskFormatter(ColorFormatter):
    """Formatter adding ``%(task_name)s`` and ``%(task_id)s`` of the current task."""

    def format(self, record: logging.LogRecord) -> str:
        task = get_current_task()
        if task and task.request:
            record.__dict__.update(task_id=task.request.id, task_name=task.name)
        else:
            record.__dict__.setdefault('task_name', '???')
            record.__dict__.setdefault('task_id', '???')
        return super().format(record)


class Logging:
    """Configure logging for a worker process (``app.log``)."""

    #: Logging is configured once per process; set by :meth:`setup_logging_subsystem`.
    _setup = False

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.loglevel = mlevel(logging.WARN)
        self.format = self.app.conf.worker_log_format
        self.task_format = self.app.conf.worker_task_log_format
        self.colorize = self.app.conf.worker_log_color
        self.datefmt = self.app.conf.worker_log_datefmt
        self.task_datefmt = self.app.conf.worker_task_log_datefmt

    @property
    def already_setup(self) -> bool:
        """Whether this process configured logging already."""
        return Logging._setup

    @already_setup.setter
    def already_setup(self, was_setup: bool) -> None:
        Logging._setup = was_setup

    def setup(self, loglevel: LogLevel = None, logfile: LogFile = None,
              redirect_stdouts: bool = False,
              redirect_level: str = 'WARNING', colorize: bool | None = None,
              hostname: str | None = None) -> Handled:
        """Configure logging and optionally redirect stdout/stderr to it."""
        loglevel = mlevel(loglevel)
        handled = self.setup_logging_subsystem(loglevel, logfile, colorize=colorize,
                                               hostname=hostname)
        # Receivers of ``setup_logging`` own every handler, stdout's included.
        if redirect_stdouts and not handled:
            self.redirect_stdouts(redirect_level)
        _export_for_pool_children(loglevel, logfile)
        _log_warnings()
        return handled

    def redirect_stdouts(self, loglevel: LogLevel = None, name: str = 'celery.redirected') -> None:
        """Send ``print`` output to the ``celery.redirected`` logger."""
        self.redirect_stdouts_to_logger(get_logger(name), loglevel=loglevel)
        os.environ.update(CELERY_LOG_REDIRECT='1',
                          CELERY_LOG_REDIRECT_LEVEL=str(loglevel or ''))

    def setup_logging_subsystem(self, loglevel: LogLevel = None, logfile: LogFile = None,
                                format: str | None = None, colorize: bool | None = None,
                                hostname: str | None = None, datefmt: str | None = None,
                                **kwargs: Any) -> Handled:
        """Configure the root and task loggers (once), unless ``setup_logging`` is handled."""
        if self.already_setup:
            return None
        if isinstance(logfile, str) and logfile and hostname:
            # (A stream given as the log file has no name to expand.)
            logfile = node_format(logfile, hostname)
        Logging._setup = True
        loglevel = mlevel(loglevel or self.loglevel)
        format = format or self.format
        datefmt = datefmt or self.datefmt
        colorize = self.supports_color(colorize, logfile)
        reset_multiprocessing_logger()
        receivers = signals.setup_logging.send(
            sender=None, loglevel=loglevel, logfile=logfile, format=format, colorize=colorize)
        if not receivers:
            self._setup_own_loggers(loglevel, logfile, format, colorize,
                                    datefmt=datefmt, **kwargs)
        # Lets a child started with fork+exec log before its own set-up runs.
        os.environ.update(_MP_FORK_LOGLEVEL_=str(loglevel),
                          _MP_FORK_LOGFILE_=logfile if isinstance(logfile, str) else '',
                          _MP_FORK_LOGFORMAT_=format)
        return receivers

    def _setup_own_loggers(self, loglevel: LogLevel, logfile: LogFile, format: str, colorize: bool,
                           **kwargs: Any) -> None:
        # Nobody handled ``setup_logging``: the root, multiprocessing and task
        # loggers get our handlers (the root logger's own are dropped first
        # when :setting:`worker_hijack_root_logger` is set).
        root = logging.getLogger()
        if self.app.conf.worker_hijack_root_logger:
            for logger in (root, get_logger('celery.task'), get_logger('celery.redirected')):
                logger.handlers = []
        self._configure_logger(root, logfile, loglevel, format, colorize, **kwargs)
        multiprocessing_level = loglevel if MP_LOG else logging.ERROR
        self._configure_logger(get_multiprocessing_logger(), logfile, multiprocessing_level,
                               format, colorize, **kwargs)
        signals.after_setup_logger.send(sender=None, logger=root, loglevel=loglevel,
                                        logfile=logfile, format=format, colorize=colorize)
        # Task records keep their own format and date format (worker_task_log_*).
        self.setup_task_loggers(loglevel, logfile, colorize=colorize)

    def _configure_logger(self, logger: logging.Logger | None, logfile: LogFile,
                          loglevel: LogLevel,
                          format: str, colorize: bool, **kwargs: Any) -> None:
        if logger is not None:
            self.setup_handlers(logger, logfile, format, colorize, **kwargs)
            if loglevel:
                logger.setLevel(loglevel)

    def setup_task_loggers(self, loglevel: LogLevel = None, logfile: LogFile = None,
                           format: str | None = None, colorize: bool | None = None,
                           propagate: bool = False, datefmt: str | None = None,
                           **kwargs: Any) -> logging.Logger:
        """Configure the ``celery.task`` logger with the task log format."""
        loglevel = mlevel(loglevel or self.loglevel)
        format = format or self.task_format
        datefmt = datefmt or self.task_datefmt
        colorize = self.supports_color(colorize, logfile)
        logger = self.setup_handlers(get_logger('celery.task'), logfile, format, colorize,
                                     formatter=TaskFormatter, datefmt=datefmt, **kwargs)
        logger.setLevel(loglevel)
        logger.propagate = bool(propagate)
        signals.after_setup_task_logger.send(sender=None, logger=logger, loglevel=loglevel,
                                             logfile=logfile, format=format,
                                             colorize=colorize)
        return logger

    def redirect_stdouts_to_logger(self, logger: logging.Logger, loglevel: LogLevel = None,
                                   stdout: bool = True, stderr: bool = True) -> LoggingProxy:
        """Replace ``sys.stdout``/``sys.stderr`` with proxies writing to ``logger``."""
        proxy = LoggingProxy(logger, loglevel)
        if stdout:
            sys.stdout = proxy
        if stderr:
            sys.stderr = proxy
        return proxy

    def supports_color(self, colorize: bool | None = None, logfile: LogFile = None) -> bool:
        """Colour only when logging to a terminal (never to a file)."""
        colorize = self.colorize if colorize is None else colorize
        if self.app.IS_WINDOWS:
            return False
        if colorize or colorize is None:
            return logfile is None and _isatty(sys.stderr)
        return bool(colorize)

    def colored(self, logfile: LogFile = None, enabled: bool | None = None) -> ColoredText:
        """A :func:`celery.utils.term.colored` that respects :meth:`supports_color`."""
        from celery.utils.term import colored
        return colored(enabled=self.supports_color(enabled, logfile))

    def setup_handlers(self, logger: logging.Logger, logfile: LogFile, format: str,
                       colorize: bool, formatter: type[ColorFormatter] = ColorFormatter,
                       datefmt: str | None = None, **kwargs: Any) -> logging.Logger:
        """Add a handler for ``logfile`` (stderr when None) unless one exists."""
        if self._is_configured(logger):
            return logger
        handler = self._detect_handler(logfile)
        record_formatter = formatter(format, use_color=colorize)
        if datefmt:
            # %(asctime)s follows the formatter's datefmt (logging.Formatter.formatTime).
            record_formatter.datefmt = datefmt
        handler.setFormatter(record_formatter)
        logger.addHandler(handler)
        return logger

    def _detect_handler(self, logfile: LogFile = None) -> logging.Handler:
        target = sys.__stderr__ if logfile is None else logfile
        if isinstance(target, (str, os.PathLike)):
            return WatchedFileHandler(target, encoding='utf-8')
        return logging.StreamHandler(target)

    def _has_handler(self, logger: logging.Logger) -> bool:
        return any(not isinstance(h, logging.NullHandler) for h in logger.handlers or [])

    def _is_configured(self, logger: logging.Logger) -> bool:
        from celery.transport.billiard_util import has_rudimentary_setup
        return self._has_handler(logger) and not has_rudimentary_setup(logger)

    def get_default_logger(self, name: str = 'celery', **kwargs: Any) -> logging.Logger:
        """The logger used by the worker (``celery``)."""
        return get_logger(name)


def _export_for_pool_children(loglevel: LogLevel, logfile: LogFile) -> None:
    # A prefork child set up apart from its parent reads these (celery.concurrency.prefork).
    os.environ['CELERY_LOG_LEVEL'] = str(loglevel) if loglevel else ''
    os.environ['CELERY_LOG_FILE'] = str(logfile) if logfile else ''


def _log_warnings() -> None:
    # Celery's deprecation warnings show every time, and every warning goes to the log.
    for category in (CDeprecationWarning, CPendingDeprecationWarning):
        warnings.filterwarnings('always', category=category)
    logging.captureWarnings(True)


def _isatty(fh: TextIO | None) -> bool:
    try:
        return bool(fh is not None and fh.isatty())
    except (AttributeError, ValueError):
        return False

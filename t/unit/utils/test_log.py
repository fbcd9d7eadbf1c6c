"""Logging helpers: logger hierarchy, levels, ColorFormatter, LoggingProxy."""
from __future__ import annotations

import logging
import sys

import pytest

from celery.utils.log import (
    LOG_LEVELS,
    ColorFormatter,
    LoggingProxy,
    base_logger,
    get_logger,
    get_task_logger,
    in_sighandler,
    iter_open_logger_fds,
    logger_isa,
    mlevel,
    task_logger,
)


def test_get_task_logger_is_under_celery_task(unique=None):
    logger = get_task_logger('proj.tasks.test_log')
    assert logger_isa(logger, task_logger)
    assert logger_isa(logger, base_logger)


@pytest.mark.parametrize('name', ['celery', 'celery.task'])
def test_get_task_logger_refuses_reserved_names(name):
    with pytest.raises(RuntimeError, match='reserved'):
        get_task_logger(name)


def test_get_logger_for_celery_modules():
    assert get_logger('celery.worker.test').parent.name.startswith('celery')
    assert get_logger('celery') is base_logger


def test_mlevel():
    assert mlevel('info') == logging.INFO
    assert mlevel('WARNING') == logging.WARNING
    assert mlevel(10) == 10
    assert LOG_LEVELS[logging.ERROR] == 'ERROR'
    with pytest.raises(ValueError, match='Unknown log level'):
        mlevel('loud')


def test_in_sighandler_flag():
    from celery.utils import log
    with in_sighandler():
        assert log._in_sighandler
    assert not log._in_sighandler


def make_record(msg, *args, level=logging.ERROR, exc_info=None):
    return logging.LogRecord('x', level, __file__, 1, msg, args, exc_info)


class TestColorFormatter:

    def test_colours_by_level(self):
        text = ColorFormatter('%(message)s').format(make_record('hello'))
        assert 'hello' in text and text.startswith('\033[1;31m') and text.endswith('\033[0m')

    def test_no_colour(self):
        text = ColorFormatter('%(message)s', use_color=False).format(make_record('hello'))
        assert text == 'hello'

    def test_info_is_not_coloured(self):
        text = ColorFormatter('%(message)s').format(make_record('hi', level=logging.INFO))
        assert text == 'hi'

    def test_bad_format_arguments_do_not_raise(self):
        text = ColorFormatter('%(message)s', use_color=False).format(make_record('%d', 'nope'))
        assert 'Unrepresentable' in text

    def test_exception_is_formatted(self):
        try:
            raise KeyError('k')
        except KeyError:
            record = make_record('failed', exc_info=sys.exc_info())
        text = ColorFormatter('%(message)s', use_color=False).format(record)
        assert 'failed' in text and "KeyError: 'k'" in text


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def proxy_logger():
    logger = logging.getLogger('t.unit.utils.test_log.proxy')
    handler = ListHandler()
    logger.addHandler(handler)
    logger.propagate = False
    # Independent of the root level other tests (embedded workers) may leave set.
    logger.setLevel(logging.DEBUG)
    yield logger, handler
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


class TestLoggingProxy:

    def test_write_logs_stripped_lines(self, proxy_logger):
        logger, handler = proxy_logger
        proxy = LoggingProxy(logger, logging.WARNING)
        assert proxy.write('hello\n') == 5
        proxy.writelines(['a\n', '\n', 'b'])
        assert [r.getMessage() for r in handler.records] == ['hello', 'a', 'b']
        assert all(r.levelno == logging.WARNING for r in handler.records)

    def test_file_like_interface(self, proxy_logger):
        proxy = LoggingProxy(proxy_logger[0], 'info')
        assert proxy.loglevel == logging.INFO
        assert not proxy.isatty()
        assert proxy.fileno() is None
        proxy.flush()
        proxy.close()
        assert proxy.write('ignored') == 0
        assert proxy_logger[1].records == []

    def test_recursion_is_dropped(self, proxy_logger):
        logger, handler = proxy_logger
        proxy = LoggingProxy(logger)

        class EchoHandler(logging.Handler):
            def emit(self, record):
                proxy.write('echo of ' + record.getMessage())

        echo = EchoHandler()
        logger.addHandler(echo)
        try:
            proxy.write('original')
        finally:
            logger.removeHandler(echo)
        assert [r.getMessage() for r in handler.records] == ['original']

    def test_redirect_print(self, proxy_logger):
        logger, handler = proxy_logger
        proxy = LoggingProxy(logger)
        print('printed', file=proxy)
        assert [r.getMessage() for r in handler.records] == ['printed']


def test_iter_open_logger_fds_yields_handler_streams():
    logger = logging.getLogger('t.unit.utils.test_log.fds')
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    try:
        assert sys.stderr in list(iter_open_logger_fds())
    finally:
        logger.removeHandler(handler)


def test_color_formatter_datefmt():
    formatter = ColorFormatter('%(asctime)s %(message)s', use_color=False, datefmt='%Y')
    record = logging.LogRecord('x', logging.INFO, __file__, 1, 'hello', (), None)
    record.created = 0.0
    assert formatter.datefmt == '%Y'
    assert formatter.format(record) in ('1970 hello', '1969 hello')


def test_mp_log_comes_from_the_environment():
    import os
    import subprocess

    import celery.app.log
    import celery.utils.log
    assert celery.app.log.MP_LOG is celery.utils.log.MP_LOG
    read = 'import celery.utils.log as log; print(repr(log.MP_LOG))'
    env = {key: value for key, value in os.environ.items() if key != 'MP_LOG'}
    assert subprocess.run([sys.executable, '-c', read], env=env, capture_output=True,
                          text=True, check=True).stdout.strip() == 'False'
    assert subprocess.run([sys.executable, '-c', read], env={**env, 'MP_LOG': '1'},
                          capture_output=True, text=True,
                          check=True).stdout.strip() == "'1'"

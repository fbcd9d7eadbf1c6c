"""``app.log.setup``: what it tells child processes and when it redirects stdout."""
from __future__ import annotations

import logging
import os
import warnings

import pytest

from celery.exceptions import CDeprecationWarning, CPendingDeprecationWarning


@pytest.fixture
def quiet_setup(app, monkeypatch):
    """``app.log`` with the logging subsystem and global switches stubbed out."""
    log = app.log
    record = {'subsystem': [], 'redirected': [], 'captured': []}
    handled: list = [None]

    def subsystem(loglevel, logfile, colorize=None, hostname=None):
        record['subsystem'].append((loglevel, logfile, colorize, hostname))
        return handled[0]

    monkeypatch.setattr(log, 'setup_logging_subsystem', subsystem)
    monkeypatch.setattr(log, 'redirect_stdouts', record['redirected'].append)
    monkeypatch.setattr(logging, 'captureWarnings', record['captured'].append)
    for name in ('CELERY_LOG_LEVEL', 'CELERY_LOG_FILE'):
        monkeypatch.setenv(name, 'stale')
    with warnings.catch_warnings():
        yield log, record, handled


def test_exports_level_and_file_for_children(quiet_setup):
    log, record, _ = quiet_setup
    assert log.setup('INFO', '/tmp/w.log', colorize=False, hostname='w@h') is None
    assert os.environ['CELERY_LOG_LEVEL'] == str(logging.INFO)
    assert os.environ['CELERY_LOG_FILE'] == '/tmp/w.log'
    assert record['subsystem'] == [(logging.INFO, '/tmp/w.log', False, 'w@h')]


def test_no_level_or_file_exports_empty_values(quiet_setup):
    log, _, _ = quiet_setup
    log.setup()
    assert (os.environ['CELERY_LOG_LEVEL'], os.environ['CELERY_LOG_FILE']) == ('', '')


def test_redirects_stdouts_when_asked(quiet_setup):
    log, record, _ = quiet_setup
    log.setup(redirect_stdouts=True, redirect_level='ERROR')
    assert record['redirected'] == ['ERROR']


def test_setup_logging_receivers_keep_stdouts(quiet_setup):
    log, record, handled = quiet_setup
    handled[0] = [(object(), None)]
    assert log.setup(redirect_stdouts=True) is handled[0]
    assert record['redirected'] == []


def test_deprecation_warnings_are_always_shown_and_logged(quiet_setup):
    log, record, _ = quiet_setup
    log.setup()
    always = {f[2] for f in warnings.filters if f[0] == 'always'}
    assert {CDeprecationWarning, CPendingDeprecationWarning} <= always
    assert record['captured'] == [True]


@pytest.fixture
def pristine_logging(monkeypatch):
    """Undo what configuring the logging subsystem does to the process."""
    from celery.app.log import Logging
    from celery.utils.log import get_logger, get_multiprocessing_logger
    loggers = [logging.getLogger(), get_logger('celery.task'), get_logger('celery.redirected')]
    mp_logger = get_multiprocessing_logger()
    if mp_logger is not None:
        loggers.append(mp_logger)
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    monkeypatch.setattr(Logging, '_setup', False)
    for name in ('_MP_FORK_LOGLEVEL_', '_MP_FORK_LOGFILE_', '_MP_FORK_LOGFORMAT_'):
        monkeypatch.delenv(name, raising=False)
    yield
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def test_subsystem_installs_our_handlers(app, pristine_logging):
    import io

    from celery import signals
    from celery.app.log import TaskFormatter
    from celery.utils.log import get_logger
    stream = io.StringIO()
    seen = []

    def after_setup(logger=None, loglevel=None, **kwargs):
        seen.append((logger, loglevel))

    signals.after_setup_logger.connect(after_setup, weak=False)
    try:
        assert app.log.setup_logging_subsystem('INFO', stream, colorize=False) == []
        assert app.log.setup_logging_subsystem('DEBUG', stream) is None  # once per process
    finally:
        signals.after_setup_logger.disconnect(after_setup)
    root = logging.getLogger()
    [handler] = root.handlers
    assert handler.stream is stream and root.level == logging.INFO
    assert seen == [(root, logging.INFO)]
    task_logger = get_logger('celery.task')
    assert isinstance(task_logger.handlers[0].formatter, TaskFormatter)
    assert task_logger.propagate is False
    assert os.environ['_MP_FORK_LOGLEVEL_'] == str(logging.INFO)
    assert os.environ['_MP_FORK_LOGFILE_'] == ''


def test_setup_logging_receivers_replace_our_handlers(app, pristine_logging):
    from celery import signals
    root = logging.getLogger()
    before = root.handlers[:]

    def own_setup(**kwargs):
        return None

    signals.setup_logging.connect(own_setup, weak=False)
    try:
        assert app.log.setup_logging_subsystem('INFO', None)
    finally:
        signals.setup_logging.disconnect(own_setup)
    assert root.handlers == before


def test_worker_log_datefmt_sets_the_date_format_of_worker_and_task_records(app,
                                                                         pristine_logging):
    import io

    from celery.utils.log import get_logger
    app.conf.worker_log_datefmt = 'worker-%Y'
    app.conf.worker_task_log_datefmt = 'task-%Y'
    app.conf.worker_log_format = '%(asctime)s %(message)s'
    app.conf.worker_task_log_format = '%(asctime)s %(message)s'
    stream = io.StringIO()
    app.log.setup_logging_subsystem('INFO', stream, colorize=False)
    logging.getLogger().info('from the worker')
    get_logger('celery.task').info('from a task')
    year = __import__('time').strftime('%Y')
    assert stream.getvalue().splitlines() == [f'worker-{year} from the worker',
                                              f'task-{year} from a task']


def test_datefmt_argument_overrides_the_setting(app, pristine_logging):
    import io
    app.conf.worker_log_datefmt = 'setting'
    app.conf.worker_log_format = '%(asctime)s|%(message)s'
    stream = io.StringIO()
    app.log.setup_logging_subsystem('INFO', stream, colorize=False, datefmt='argument')
    logging.getLogger().info('hello')
    assert stream.getvalue() == 'argument|hello\n'


def test_without_datefmt_records_keep_the_logging_default_date(app, pristine_logging):
    import io
    app.conf.worker_log_format = '%(asctime)s|%(message)s'
    stream = io.StringIO()
    app.log.setup_logging_subsystem('INFO', stream, colorize=False)
    logging.getLogger().info('hello')
    stamp = stream.getvalue().split('|')[0]
    assert len(stamp) == len('2024-01-01 00:00:00,000')

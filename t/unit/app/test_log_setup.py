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

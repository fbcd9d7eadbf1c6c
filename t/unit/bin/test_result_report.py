"""``celery result`` of a failed task and what ``celery report`` shows of the settings."""
from __future__ import annotations

import sys


def stored_failure(app, task_id: str) -> str:
    try:
        raise ValueError('boom')
    except ValueError as exc:
        import traceback
        text = ''.join(traceback.format_exception(*sys.exc_info()))
        app.backend.mark_as_failure(task_id, exc, traceback=text)
    return text


def test_result_of_a_failed_task_prints_its_traceback(run, app, unique):
    task_id = f'failed-{unique}'
    text = stored_failure(app, task_id)
    result = run('result', task_id)
    assert result.exit_code == 1
    output = result.output.rstrip('\n')
    assert output.startswith('Traceback (most recent call last):')
    assert output.endswith('ValueError: boom') and 'stored_failure' in output
    assert output == text.rstrip('\n')


def test_result_traceback_option(run, app, unique):
    task_id = f'failed-tb-{unique}'
    text = stored_failure(app, task_id)
    result = run('result', task_id, '--traceback')
    assert result.exit_code == 0 and result.output.rstrip('\n') == text.rstrip('\n')


def test_report_shows_deprecated_settings_and_normalised_broker_url(run, app):
    app.conf.broker_url = 'amqp://user:secret@127.0.0.1//'
    result = run('report')
    assert result.exit_code == 0, result.output
    assert "broker_url: 'amqp://user:********@127.0.0.1:5672//'" in result.output
    assert 'secret' not in result.output
    assert 'deprecated_settings: None' in result.output


def test_report_lists_old_setting_names(run):
    from celery import Celery
    from celery.bin.celery import celery
    from click.testing import CliRunner
    old = Celery('old-names', set_as_current=False)
    old.config_from_object({'CELERYD_CONCURRENCY': 3, 'BROKER_URL': 'amqp://'})
    param = celery.params[0]
    previous, param.default = param.default, old
    try:
        result = CliRunner().invoke(celery, ['report'], catch_exceptions=False)
    finally:
        param.default = previous
    assert "deprecated_settings: {'CELERYD_CONCURRENCY'" in result.output or (
        'deprecated_settings:' in result.output and 'CELERYD_CONCURRENCY' in result.output)
    assert "BROKER_URL: 'amqp://guest:********@localhost:5672//'" in result.output

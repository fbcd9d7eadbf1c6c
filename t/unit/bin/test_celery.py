"""The root ``celery`` group: global options, help, errors and user options."""
from __future__ import annotations

import os

import click

from celery import VERSION_BANNER
from celery.bin.base import CLIContext


def test_version(run):
    result = run('--version')
    assert result.exit_code == 0
    assert result.output.strip() == VERSION_BANNER


def test_no_subcommand_prints_help(run):
    result = run()
    assert result.exit_code == 0
    assert 'worker' in result.output and 'Global Options' not in result.output.split('Commands')[1]


def test_unknown_command_suggests_closest(run):
    result = run('wroker')
    assert result.exit_code == 2
    assert "No such command 'wroker'" in result.output
    assert 'worker' in result.output.split('Did you mean')[1]


def test_app_after_subcommand_explains_the_fix(run):
    result = run('worker', '-A', 'proj')
    assert result.exit_code == 2
    assert 'celery -A proj worker' in result.output


def test_app_after_subcommand_long_form(run):
    result = run('purge', '--app=proj')
    assert result.exit_code == 2
    assert 'celery --app proj purge' in result.output


def test_broker_option_is_exported(run, monkeypatch):
    monkeypatch.delenv('CELERY_BROKER_URL', raising=False)
    run('-b', 'memory://exported', 'report')
    assert os.environ.pop('CELERY_BROKER_URL') == 'memory://exported'


def test_result_backend_option_is_exported(run, monkeypatch):
    monkeypatch.delenv('CELERY_RESULT_BACKEND', raising=False)
    run('--result-backend', 'cache+memory://', 'report')
    assert os.environ.pop('CELERY_RESULT_BACKEND') == 'cache+memory://'


def test_unknown_app_module_is_reported(monkeypatch):
    from click.testing import CliRunner

    from celery.bin.celery import celery
    result = CliRunner().invoke(celery, ['-A', 'no_such_module_xyz', 'report'])
    assert result.exit_code == 2
    assert 'no_such_module_xyz' in result.output
    assert 'Unable to load celery application' in result.output


def test_worker_user_options_are_offered(run, app):
    app.user_options['worker'].add(click.Option(['--my-flag'], is_flag=True, help='custom flag'))
    result = run('worker', '--help')
    assert '--my-flag' in result.output


def test_preload_options_are_sent_with_signal(run, app):
    from celery.signals import user_preload_options
    app.user_options['preload'].add(click.Option(['--tenant'], default='none'))
    seen = {}

    def receiver(sender, app, options, **kwargs):
        seen.update(options)
    user_preload_options.connect(receiver, weak=False)
    try:
        result = run('purge', '--tenant', 'acme', '-Q', 'nothing-here-xyz', '-f')
    finally:
        user_preload_options.disconnect(receiver)
    assert result.exit_code == 0, result.output
    assert seen == {'tenant': 'acme'}


def test_cli_context_pretty():
    ctx = CLIContext(app=None, no_color=True, workdir=None)
    assert ctx.pretty(['a', 'b']) == ('OK', '* a\n* b')
    assert ctx.pretty({'ok': 'pong'}) == ('OK', '    pong')
    assert ctx.pretty({'error': 'bad'}) == ('ERROR', '    bad')
    assert ctx.pretty([])[1] == '- empty -'

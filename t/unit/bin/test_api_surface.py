"""The module-level names of ``celery.bin`` that plug-ins and scripts import."""
from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import click
import pytest

from t.unit.bin.test_multi_logtool import LOG
from celery.bin import amqp as amqp_module
from celery.bin import base
from celery.bin import celery as celery_module
from celery.bin import logtool
from celery.bin import worker as worker_module


@pytest.mark.parametrize('name,kind', [
    ('worker', base.CeleryDaemonCommand), ('beat', base.CeleryDaemonCommand),
    ('events', base.CeleryDaemonCommand), ('call', base.CeleryCommand),
    ('control', base.CeleryCommand), ('inspect', base.CeleryCommand),
    ('status', base.CeleryCommand), ('purge', base.CeleryCommand),
    ('result', base.CeleryCommand), ('shell', base.CeleryCommand),
    ('migrate', base.CeleryCommand), ('multi', click.Command), ('report', base.CeleryCommand),
])
def test_subcommands_are_module_attributes(name, kind):
    command = getattr(celery_module, name)
    assert isinstance(command, kind)
    assert command is celery_module.celery.get_command(None, name)


def test_unknown_attribute_still_raises():
    with pytest.raises(AttributeError):
        celery_module.no_such_command


def test_importing_the_umbrella_command_does_not_import_the_worker():
    code = ('import sys, celery.bin.celery; '
            'print("celery.bin.worker" in sys.modules, "celery.worker" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['False', 'False']


def test_unable_to_load_texts_end_with_a_style_reset():
    assert celery_module.UNABLE_TO_LOAD_APP_APP_MISSING == (
        '\nUnable to load celery application.\n{0}\x1b[0m')
    assert 'The module {0} was not found.' in celery_module.UNABLE_TO_LOAD_APP_MODULE_NOT_FOUND
    assert '{1}' in celery_module.UNABLE_TO_LOAD_APP_ERROR_OCCURRED


def test_missing_module_message(run):
    result = run('-A', 'no_such_module_xyz', 'report')
    assert result.exit_code == 2
    assert 'The module no_such_module_xyz was not found.' in result.output


def test_wrong_app_option_usage_message(run):
    result = run('worker', '-A', 'proj')
    assert result.exit_code == 2
    expected = celery_module.WRONG_APP_OPTION_USAGE_MESSAGE.format(
        option='-A', command='worker', value='proj').splitlines()[0]
    assert expected in result.output


def test_base_constants():
    from celery import signals
    assert base.EX_UNAVAILABLE == 69
    assert base.user_preload_options is signals.user_preload_options
    assert celery_module.consume_preload_options is base.consume_preload_options


def _preload_ctx(app):
    app.user_options['preload'].add(click.Option(['--flag']))
    return SimpleNamespace(obj=SimpleNamespace(app=app))


def test_consume_preload_options_drops_their_values(app):
    ctx = _preload_ctx(app)
    seen = []
    wrapped = base.consume_preload_options(lambda ctx, **kwargs: seen.append(kwargs))
    wrapped(ctx, flag='x', other=1)
    assert seen == [{'other': 1}]


def test_handle_preload_options_sends_the_signal(app):
    ctx = _preload_ctx(app)
    sent = []

    def receiver(sender=None, app=None, options=None, **kwargs):
        sent.append(options)
    base.user_preload_options.connect(receiver, weak=False)
    try:
        base.handle_preload_options(lambda ctx, **kwargs: kwargs)(ctx, flag='x', other=1)
    finally:
        base.user_preload_options.disconnect(receiver)
    assert sent == [{'flag': 'x'}]


def test_handle_remote_command_error_exits_unavailable(capsys):
    with pytest.raises(click.exceptions.Exit) as info:
        base.handle_remote_command_error('ping', ConnectionRefusedError('refused'))
    assert info.value.exit_code == 69
    err = capsys.readouterr().err
    assert "'ping'" in err and 'refused' in err


def test_dump_message():
    message = SimpleNamespace(body='hi', properties={'p': 1}, delivery_info={'exchange': ''})
    assert amqp_module.dump_message(message) == {
        'body': 'hi', 'properties': {'p': 1}, 'delivery_info': {'exchange': ''}}
    assert amqp_module.dump_message(None) is None




def test_task_info():
    lines = LOG.splitlines()
    assert logtool.task_info(lines[0]) == ('tasks.add', 'a1', None)
    assert logtool.task_info(lines[1]) == ('tasks.add', 'a1', '4')
    assert logtool.task_info(lines[3]) == ('tasks.div', 'b2', 'ZeroDivisionError()')
    assert logtool.task_info(lines[4]) is None


def test_audit_callbacks_and_hooks(tmp_path):
    path = tmp_path / 'worker.log'
    path.write_text(LOG)
    errors, traces, debug = [], [], []
    audit = logtool.Audit(on_task_error=lambda *args: errors.append(args),
                          on_trace=traces.append, on_debug=debug.append)
    assert audit.run([str(path)]) is audit
    assert errors == [(LOG.splitlines()[3], 'tasks.div', 'b2', 'ZeroDivisionError()')]
    assert traces == ['Traceback (most recent call last):\nZeroDivisionError: division by zero']
    assert len(debug) == 5
    assert audit.incomplete_tasks() == {'c3'}
    assert 'Task failed: 1' in audit.report()


def test_audit_subclass_hooks_see_each_task():
    seen = []

    class Recording(logtool.Audit):
        def task_received(self, line, task_name, task_id):
            seen.append(('received', task_name, task_id))
            super().task_received(line, task_name, task_id)

        def task_ready(self, line, task_name, task_id, result):
            seen.append(('ready', task_name, task_id, result))
            super().task_ready(line, task_name, task_id, result)

    audit = Recording()
    for line in LOG.splitlines():
        audit.feed(line)
    assert seen[:2] == [('received', 'tasks.add', 'a1'), ('ready', 'tasks.add', 'a1', '4')]
    assert ('ready', 'tasks.div', 'b2', 'ZeroDivisionError()') in seen


def test_workers_pool():
    pool = worker_module.WORKERS_POOL
    assert isinstance(pool, worker_module.WorkersPool)
    assert worker_module.WorkersPool.name == 'pool'
    assert pool.convert('Solo', None, None) == 'solo'
    assert pool.convert(dict, None, None) is dict
    with pytest.raises(click.BadParameter):
        pool.convert('nope', None, None)


def test_worker_constants():
    assert worker_module.AUTO_CONCURRENCY == 'auto'
    assert worker_module.C_FAKEFORK is None or isinstance(worker_module.C_FAKEFORK, str)


def test_concurrency_auto_means_the_default(run, app):
    calls = []

    class RecordingWorker:
        def __init__(self, **kwargs):
            calls.append(kwargs)
            self.exitcode = 0

        def start(self):
            pass
    app.Worker = RecordingWorker
    app.conf.worker_concurrency = 0
    assert run('worker', '-c', 'auto', '-P', 'solo').exit_code == 0
    assert run('worker', '-c', '3').exit_code == 0
    assert not calls[0]['concurrency'] and calls[1]['concurrency'] == 3
    assert run('worker', '-c', 'many').exit_code == 2

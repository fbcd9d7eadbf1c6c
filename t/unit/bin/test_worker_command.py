"""``celery worker`` argument handling, checked up to the Worker it constructs."""
from __future__ import annotations

import logging

import pytest


class RecordingWorker:
    """Stands in for the worker program: records what the command passed it."""

    calls: list[dict] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.exitcode = 0

    def start(self):
        RecordingWorker.calls.append(self.kwargs)


@pytest.fixture
def recorded(app):
    RecordingWorker.calls = []
    app.Worker = RecordingWorker
    return RecordingWorker.calls


def test_options_reach_the_worker(run, recorded):
    result = run('worker', '-l', 'info', '-c', '3', '-Q', 'a,b', '-X', 'c', '-n', 'w1@%h',
                 '--without-mingle', '--autoscale', '4,1', '-P', 'solo', '-E',
                 '--prefetch-multiplier', '0', '--time-limit', '5', '--soft-time-limit', '3')
    assert result.exit_code == 0, result.output
    kwargs = recorded[0]
    assert kwargs['loglevel'] == logging.INFO
    assert kwargs['concurrency'] == 3
    assert kwargs['queues'] == ['a', 'b']
    assert kwargs['exclude_queues'] == ['c']
    assert kwargs['hostname'].startswith('w1@') and '%h' not in kwargs['hostname']
    assert kwargs['without_mingle'] is True
    assert kwargs['autoscale'] == (4, 1)
    assert kwargs['pool_cls'].__module__.endswith('solo')
    assert kwargs['task_events'] is True
    assert kwargs['prefetch_multiplier'] == 0
    assert (kwargs['time_limit'], kwargs['soft_time_limit']) == (5.0, 3.0)


def test_defaults_come_from_configuration(run, recorded, app):
    app.conf.worker_concurrency = 7
    app.conf.worker_prefetch_multiplier = 9
    result = run('worker')
    assert result.exit_code == 0, result.output
    kwargs = recorded[0]
    assert kwargs['concurrency'] == 7
    assert kwargs['prefetch_multiplier'] == 9
    assert kwargs['hostname'].startswith('celery@')
    assert kwargs['loglevel'] == logging.WARNING
    assert kwargs['task_events'] is None  # the worker_send_task_events setting decides


def test_pidfile_and_statedb_expand_node_name(run, recorded, tmp_path):
    result = run('worker', '-n', 'alpha@example', '--pidfile', str(tmp_path / '%n.pid'),
                 '--statedb', str(tmp_path / '%n.state'))
    assert result.exit_code == 0, result.output
    assert recorded[0]['pidfile'] == str(tmp_path / 'alpha.pid')
    assert recorded[0]['statedb'] == str(tmp_path / 'alpha.state')


def test_extra_key_value_args_configure_the_app(run, recorded, app):
    result = run('worker', '--', 'worker_max_tasks_per_child=5')
    assert result.exit_code == 0, result.output
    assert app.conf.worker_max_tasks_per_child == 5


def test_misspelt_option_is_a_clear_error(run, recorded):
    result = run('worker', '--concurency', '2')
    assert result.exit_code == 2
    assert 'No such option' in result.output and '--concurency' in result.output
    assert '--concurrency' in result.output
    assert not recorded


def test_stray_argument_is_a_clear_error(run, recorded):
    result = run('worker', 'stray')
    assert result.exit_code == 2
    assert "'stray'" in result.output and 'configuration overrides' in result.output


@pytest.mark.parametrize('args,fragment', [
    (['-c', 'many'], "'many' is not a valid integer"),
    (['-P', 'nosuchpool'], "'nosuchpool' is not one of"),
    (['-l', 'LOUD'], "'LOUD' is not one of"),
    (['--autoscale', '1,2,3'], 'Expected two comma separated integers'),
    (['-O', 'fast'], "'fast' is not one of"),
])
def test_bad_values_are_rejected(run, recorded, args, fragment):
    result = run('worker', *args)
    assert result.exit_code == 2
    assert fragment in result.output
    assert not recorded


def test_help_groups_options(run):
    result = run('worker', '--help')
    for section in ('Worker Options', 'Pool Options', 'Queue Options', 'Features',
                    'Embedded Beat Options', 'Daemonization Options'):
        assert section in result.output

"""WorkController: construction order, option resolution and how start() ends."""
from __future__ import annotations

import logging

import pytest

from celery import Celery
from celery.exceptions import WorkerShutdown, WorkerTerminate
from celery.worker.worker import WorkController


def make_app(**conf) -> Celery:
    app = Celery('wc', broker='memory://', set_as_current=False)
    app.conf.update(conf)
    return app


class RecordingController(WorkController):
    """Records the construction phases instead of building a worker."""

    def __init__(self, *args, **kwargs):
        self.phases = []
        super().__init__(*args, **kwargs)

    def on_before_init(self, **kwargs):
        self.phases.append(('before', hasattr(self, 'concurrency'), sorted(kwargs)))

    def on_after_init(self, **kwargs):
        self.phases.append(('after', self.concurrency))

    def prepare_args(self, **kwargs):
        return dict(kwargs, prepared=True)

    def setup_instance(self, **kwargs):
        self.phases.append(('instance', kwargs))


def test_construction_runs_the_hooks_around_reading_the_options(monkeypatch):
    app = make_app(worker_concurrency=3)
    seen = []
    monkeypatch.setattr(app.loader, 'init_worker', lambda: seen.append('init_worker'))
    worker = RecordingController(app=app, hostname='w1@host', queues=['a'])
    assert seen == ['init_worker']
    assert worker.hostname == 'w1@host'
    assert worker.startup_time.tzinfo is not None
    assert worker.phases == [
        ('before', False, ['queues']),
        ('after', 3),
        ('instance', {'queues': ['a'], 'prepared': True}),
    ]


def defaults(app=None, **options) -> WorkController:
    worker = WorkController.__new__(WorkController)
    worker.app = app or make_app()
    worker.setup_defaults(**options)
    return worker


def test_options_fall_back_to_settings():
    app = make_app(worker_concurrency=7, worker_pool='threads', worker_prefetch_multiplier=2,
                   task_time_limit=30, worker_state_db='/tmp/state', worker_send_task_events=True)
    worker = defaults(app)
    assert (worker.concurrency, worker.pool_cls, worker.prefetch_multiplier) == (7, 'threads', 2)
    assert (worker.time_limit, worker.statedb, worker.task_events) == (30, '/tmp/state', True)
    assert worker.loglevel == 'WARN' and worker.logfile is None
    assert worker.disable_prefetch is False


def test_options_win_over_settings_and_first_alias_wins():
    app = make_app(worker_concurrency=7, worker_pool='threads')
    worker = defaults(app, concurrency=2, pool='solo', pool_cls='prefork', statedb='a',
                      state_db='b', time_limit=5, task_time_limit=6, soft_time_limit=None,
                      task_soft_time_limit=4, scheduler=None, scheduler_cls='my:Sched',
                      O='fair', loglevel='INFO', logfile='/tmp/w.log')
    assert (worker.concurrency, worker.pool_cls, worker.statedb) == (2, 'solo', 'a')
    assert (worker.time_limit, worker.soft_time_limit, worker.scheduler) == (5, 4, 'my:Sched')
    assert (worker.optimization, worker.loglevel, worker.logfile) == ('fair', 'INFO', '/tmp/w.log')


def test_zero_is_an_option_not_a_missing_one():
    worker = defaults(make_app(worker_concurrency=7), concurrency=0, task_events=False)
    assert worker.concurrency == 0 and worker.task_events is False


def test_disable_prefetch_means_one_message_per_process():
    worker = defaults(make_app(worker_prefetch_multiplier=8), disable_prefetch=True)
    assert worker.disable_prefetch is True and worker.prefetch_multiplier == 1
    worker = defaults(make_app(worker_prefetch_multiplier='3'))
    assert worker.prefetch_multiplier == 3


class FailingBlueprint:
    def __init__(self, error):
        self.error = error

    def start(self, parent):
        raise self.error


class EndingController(WorkController):
    def __init__(self, error):
        self.blueprint = FailingBlueprint(error)
        self.calls = []

    def stop(self, in_sighandler=False, exitcode=None):
        self.calls.append(('stop', exitcode))

    def terminate(self, in_sighandler=False):
        self.calls.append(('terminate', self.exitcode))


@pytest.mark.parametrize('error, calls', [
    (WorkerTerminate(3), [('terminate', 3)]),
    (WorkerShutdown(0), [('stop', 0)]),
    (SystemExit(5), [('stop', 5)]),
    (KeyboardInterrupt(), [('stop', 1)]),
    (RuntimeError('broken step'), [('stop', 1)]),
])
def test_how_start_ends(error, calls, caplog):
    worker = EndingController(error)
    with caplog.at_level(logging.CRITICAL, logger='celery.worker.worker'):
        worker.start()
    assert worker.calls == calls
    unrecoverable = [r for r in caplog.records if 'Unrecoverable error' in r.getMessage()]
    assert len(unrecoverable) == (1 if isinstance(error, RuntimeError) else 0)


def test_other_base_exceptions_are_not_swallowed():
    worker = EndingController(GeneratorExit())
    with pytest.raises(GeneratorExit):
        worker.start()
    assert worker.calls == []

"""The worker's Pool and Consumer steps: what they build their objects with."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from celery.worker import state
from celery.worker.components import Consumer, Pool


class RecordingPool:
    task_join_will_block = False

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class RecordingConsumer:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def make_worker(**overrides):
    app = SimpleNamespace(conf=SimpleNamespace(worker_pool='prefork'))
    worker = SimpleNamespace(
        app=app, hostname='w1@host', concurrency=4, optimization='fair',
        use_eventloop=False, pool_cls=RecordingPool, max_tasks_per_child=10,
        max_memory_per_child=2000, time_limit=60, soft_time_limit=50, pool_putlocks=True,
        worker_lost_wait=10.0, pool_start_method='spawn', proc_alive_timeout=2.5,
        pool_restarts=False, state=state, _process_task=object(),
        consumer_cls=RecordingConsumer, ready_callback=object(), timer=object(), hub=None,
        options={'queues': ['a']}, disable_rate_limits=False, prefetch_multiplier=4,
        task_events=True,
    )
    for key, value in overrides.items():
        setattr(worker, key, value)
    return worker


@pytest.mark.parametrize('use_eventloop, putlocks, threads, max_restarts', [
    (False, True, True, None),
    (True, False, False, 100),
])
def test_pool_is_built_from_the_worker_options(use_eventloop, putlocks, threads, max_restarts):
    worker = make_worker(use_eventloop=use_eventloop)
    step = Pool(worker, autoscale='8,2')
    pool = step.create(worker)
    assert worker.pool is pool and worker.process_task is worker._process_task
    assert pool.args == (2,)  # starts at autoscale's min
    assert pool.kwargs == {
        'initargs': (worker.app, 'w1@host'), 'maxtasksperchild': 10,
        'max_memory_per_child': 2000, 'timeout': 60, 'soft_timeout': 50,
        'putlocks': putlocks, 'lost_worker_timeout': 10.0, 'threads': threads,
        'max_restarts': max_restarts, 'allow_restart': False, 'forking_enable': True,
        'semaphore': None, 'sched_strategy': 'fair', 'app': worker.app,
        'start_method': 'spawn', 'proc_alive_timeout': 2.5,
    }


def test_pool_putlocks_unset_stays_unset_in_the_event_loop():
    worker = make_worker(use_eventloop=True, pool_putlocks=None)
    pool = Pool(worker).create(worker)
    assert pool.args == (4,) and pool.kwargs['putlocks'] is None


@pytest.mark.parametrize('max_concurrency, concurrency, prefetch', [
    (8, 2, 32),     # autoscale: prefetch for the most processes
    (None, 3, 12),
    (None, 0, 4),   # at least one process' worth
])
def test_consumer_is_built_with_a_prefetch_for_the_pool(max_concurrency, concurrency, prefetch):
    worker = make_worker(max_concurrency=max_concurrency, concurrency=concurrency,
                         process_task=object(), pool=object())
    consumer = Consumer(worker).create(worker)
    assert worker.consumer is consumer
    assert consumer.args == (worker.process_task,)
    assert consumer.kwargs == {
        'hostname': 'w1@host', 'task_events': True, 'init_callback': worker.ready_callback,
        'initial_prefetch_count': prefetch, 'pool': worker.pool, 'timer': worker.timer,
        'app': worker.app, 'controller': worker, 'hub': None,
        'worker_options': {'queues': ['a']}, 'disable_rate_limits': False,
        'prefetch_multiplier': 4,
    }

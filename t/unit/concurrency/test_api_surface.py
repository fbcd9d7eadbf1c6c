"""Public names of celery.concurrency that plugins and custom pools use."""
from __future__ import annotations

import importlib
import inspect
import os

import pytest

from celery.concurrency import base, prefork
from celery.concurrency.base import BasePool, apply_target
from celery.concurrency.hubpool import HubPool
from celery.concurrency.procpool import ProcessPool


class RecordingPool(BasePool):
    def on_apply(self, *args, **kwargs):
        self.applied = args, kwargs


def test_apply_async_takes_celery_parameters_and_passes_options_on():
    assert list(inspect.signature(BasePool.apply_async).parameters) == [
        'self', 'target', 'args', 'kwargs', 'options']
    pool = RecordingPool()
    pool.apply_async(print, (1,), callback=len, timeout=3, custom='x')
    args, kwargs = pool.applied
    assert args == (print, (1,), {})
    assert kwargs['callback'] is len and kwargs['timeout'] == 3 and kwargs['custom'] == 'x'
    # Callbacks not given still reach on_apply, as None.
    assert kwargs['error_callback'] is None and kwargs['accept_callback'] is None


def test_apply_target_reports_errors_to_an_error_callback_keyword():
    seen = []

    def boom():
        raise KeyError('x')
    apply_target(boom, error_callback=seen.append)
    assert seen and seen[0].type is KeyError
    assert 'error_callback' not in inspect.signature(apply_target).parameters


def test_custom_pool_comes_from_the_environment(monkeypatch):
    import celery.concurrency as concurrency
    monkeypatch.setenv('CELERY_CUSTOM_WORKER_POOL', 'celery.concurrency.solo:TaskPool')
    try:
        reloaded = importlib.reload(concurrency)
        assert reloaded.custom == 'celery.concurrency.solo:TaskPool'
        assert reloaded.get_implementation('custom').__module__ == 'celery.concurrency.solo'
    finally:
        monkeypatch.delenv('CELERY_CUSTOM_WORKER_POOL')
        importlib.reload(concurrency)
    assert concurrency.custom is None and 'custom' not in concurrency.ALIASES


def test_prefork_constants():
    assert (prefork.RUN, prefork.CLOSE) == (0, 1)
    expected = os.environ.get('REMAP_SIGTERM') or None
    assert prefork.REMAP_SIGTERM == expected
    assert prefork.TERM_SIGNAME == (expected or 'SIGTERM')
    assert 'SIGTERM' in prefork.WORKER_SIGRESET and 'SIGINT' in prefork.WORKER_SIGIGNORE


def test_prefork_pool_classes_and_write_stats():
    assert prefork.TaskPool.Pool is ProcessPool and prefork.TaskPool.BlockingPool is ProcessPool
    assert prefork.TaskPool.BilliardPool is HubPool
    assert prefork.TaskPool.write_stats is None
    assert list(inspect.signature(prefork.process_initializer).parameters) == ['app', 'hostname']


def test_prefork_uses_the_pool_class_attribute(monkeypatch):
    made = []

    class FakePool:
        def __init__(self, **kwargs):
            made.append(kwargs)
            self.writes = {}

        def pids(self):
            return []

    class MyTaskPool(prefork.TaskPool):
        Pool = FakePool
        BlockingPool = None
    pool = MyTaskPool(limit=2, threads=False)
    pool.on_start()
    assert made[0]['processes'] == 2
    assert pool.write_stats()['total'] == 0


def test_thread_module_exports_type_checking():
    from celery.concurrency import thread
    assert thread.TYPE_CHECKING is False


class TestGevent:
    gevent = pytest.importorskip('gevent')

    @pytest.fixture
    def mod(self):
        from celery.concurrency import gevent as mod
        return mod

    def test_pool_timer_runs_entries_in_greenlets(self, mod):
        assert mod.TaskPool.Timer is mod.Timer
        assert mod.Timeout is None
        timer = mod.Timer(max_interval=1.0, on_tick=None)
        ran = []
        timer.call_after(0.01, ran.append, ('late',))
        timer.call_after(0.0, ran.append, ('soon',))
        assert [event.entry.args for event in timer.queue] == [('soon',), ('late',)]
        self.gevent.sleep(0.05)
        assert ran == ['soon', 'late'] and timer.queue == []

    def test_timer_clear_cancels_entries(self, mod):
        timer = mod.Timer()
        ran = []
        timer.call_after(0.01, ran.append, (1,))
        timer.clear()
        self.gevent.sleep(0.03)
        assert ran == [] and len(timer) == 0

    def test_apply_target_uses_getpid(self, mod):
        accepted, results = [], []
        mod.apply_target(lambda x: x * 2, (2,), None, results.append,
                         lambda pid, t: accepted.append(pid), getpid=lambda: 42)
        assert results == [4] and accepted == [42]

    def test_apply_timeout_calls_timeout_callback(self, mod):
        timeouts, results = [], []
        mod.apply_timeout(self.gevent.sleep, (1,), callback=results.append,
                          getpid=lambda: 1, timeout=0.01,
                          timeout_callback=lambda soft, t: timeouts.append((soft, t)))
        assert timeouts == [(False, 0.01)] and results == []
        mod.apply_timeout(len, ('ab',), callback=results.append, getpid=lambda: 1, timeout=1)
        assert results == [2]

    def test_on_apply_takes_celery_parameters(self, mod):
        params = list(inspect.signature(mod.TaskPool.on_apply).parameters)
        assert params[:9] == ['self', 'target', 'args', 'kwargs', 'callback', 'accept_callback',
                              'timeout', 'timeout_callback', 'apply_target']
        pool = mod.TaskPool(limit=2)
        pool.start()
        used, results = [], []

        def run(*args, **kwargs):
            used.append(kwargs['pid'])
            return base.apply_target(*args, **kwargs)
        pool.on_apply(len, ('abc',), callback=results.append, apply_target=run)
        pool.stop()
        assert results == [3] and used

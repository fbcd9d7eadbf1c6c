"""Pool selection, the base interface, solo and threads pools, and the callback relay."""
from __future__ import annotations

import sys

import os
import threading
import time

import pytest
from kombu.asynchronous import Hub

from celery import concurrency
from celery.concurrency.base import BasePool, apply_target
from celery.concurrency.relay import CallbackRelay
from celery.concurrency.solo import TaskPool as SoloPool
from celery.concurrency.thread import TaskPool as ThreadPool
from celery.exceptions import ImproperlyConfigured


def test_aliases_and_lookup():
    names = concurrency.get_available_pool_names()
    assert {'prefork', 'processes', 'threads', 'solo', 'eventlet', 'gevent'} <= set(names)
    assert concurrency.get_implementation('processes') is concurrency.get_implementation('prefork')
    assert concurrency.get_implementation(SoloPool) is SoloPool
    assert concurrency.get_implementation('celery.concurrency.solo:TaskPool') is SoloPool


def test_unknown_pool_lists_choices():
    with pytest.raises(ImproperlyConfigured, match='choose one of prefork'):
        concurrency.get_implementation('nope')


@pytest.mark.parametrize('name', ['eventlet', 'gevent'])
def test_green_pool_without_library_says_what_to_install(name, monkeypatch):
    # Simulate the library missing (a None entry makes `import name` fail)
    # without importing it into the test process.
    monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, f'celery.concurrency.{name}', raising=False)
    with pytest.raises(ImproperlyConfigured, match=f"celery\\[{name}\\]"):
        concurrency.get_implementation(name)


def test_apply_target_order_and_errors():
    events = []
    apply_target(lambda x: x * 2, (21,), {}, callback=lambda r: events.append(('done', r)),
                 accept_callback=lambda pid, t: events.append(('accepted', pid)))
    assert events == [('accepted', os.getpid()), ('done', 42)]
    errors = []
    apply_target(lambda: 1 / 0, (), None, error_callback=errors.append)
    assert errors[0].type is ZeroDivisionError
    with pytest.raises(ZeroDivisionError):
        apply_target(lambda: 1 / 0)


def test_base_pool_interface_defaults():
    pool = BasePool(limit=3)
    pool.start()
    assert pool.active and pool.num_processes == 3
    assert pool.info == {'implementation': 'celery.concurrency.base:BasePool', 'max-concurrency': 3}
    with pytest.raises(NotImplementedError, match='prefork'):
        pool.terminate_job(1)
    with pytest.raises(NotImplementedError):
        pool.grow()
    pool.stop()
    assert not pool.active


def test_solo_runs_inline():
    pool = SoloPool()
    pool.start()
    seen = []
    pool.apply_async(lambda a, b: a + b, (1, 2), callback=seen.append,
                     accept_callback=lambda pid, t: seen.append('accepted'))
    assert seen == ['accepted', 3]
    assert pool.num_processes == 1 and pool.body_can_be_buffer
    pool.stop()


def test_threads_pool_callbacks_run_in_hub_thread():
    hub = Hub()
    hub.call_repeatedly(0.05, lambda: None)
    pool = ThreadPool(limit=4)
    pool.start()
    pool.register_with_event_loop(hub)
    seen = []
    worker_threads = set()

    def job(i):
        worker_threads.add(threading.get_ident())
        return i

    for i in range(20):
        pool.apply_async(job, (i,), callback=lambda r: seen.append((r, threading.get_ident())))
    deadline = time.monotonic() + 10
    while len(seen) < 20:
        assert time.monotonic() < deadline
        hub.run_once()
    assert sorted(r for r, _ in seen) == list(range(20))
    assert {ident for _, ident in seen} == {threading.get_ident()}
    assert threading.get_ident() not in worker_threads
    pool.stop()
    hub.close()


def test_relay_without_hub_queues_until_flush():
    relay = CallbackRelay()
    seen = []
    wrapped = relay.wrap(seen.append)
    thread = threading.Thread(target=wrapped, args=(1,))
    thread.start()
    thread.join()
    assert seen == [] and len(relay) == 1
    assert relay.flush() == 1
    assert seen == [1]
    assert relay.wrap(None) is None


def test_relay_logs_failing_callbacks_and_continues():
    relay = CallbackRelay()
    seen = []
    relay.call(lambda: 1 / 0)
    relay.call(seen.append, 'after')
    assert relay.flush() == 2
    assert seen == ['after']


def test_prefork_child_leaves_when_its_worker_is_already_gone():
    # The worker may be killed before a child reaches its initializer: the
    # child, by then adopted by init, must still notice it is orphaned.
    from celery.concurrency.prefork import EX_PARENT_GONE, _die_with_parent
    pid = os.fork()
    if pid == 0:
        _die_with_parent(os.getppid() + 1_000_000)  # not our parent: gone
        time.sleep(10)
        os._exit(0)
    start = time.monotonic()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == EX_PARENT_GONE
    assert time.monotonic() - start < 5

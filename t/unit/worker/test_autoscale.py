"""The autoscaler: how the pool follows the backlog and how its bounds change."""
from __future__ import annotations

import pytest

from celery.worker import state
from celery.worker.autoscale import Autoscaler


class FakePool:
    def __init__(self, processes: int, busy: bool = False) -> None:
        self.num_processes = processes
        self.busy = busy
        self.calls: list[tuple[str, int]] = []
        self.maintained = 0

    def grow(self, n: int) -> None:
        self.calls.append(('grow', n))
        self.num_processes += n

    def shrink(self, n: int) -> None:
        if self.busy:
            raise ValueError('all busy')
        self.calls.append(('shrink', n))
        self.num_processes -= n

    def maintain_pool(self) -> None:
        self.maintained += 1


class FakeQoS:
    def __init__(self) -> None:
        self.changes: list[int] = []

    def increment_eventually(self, n: int) -> None:
        self.changes.append(n)

    def decrement_eventually(self, n: int) -> None:
        self.changes.append(-n)


class FakeConsumer:
    prefetch_multiplier = 4

    def __init__(self) -> None:
        self.qos = FakeQoS()


class FakeWorker:
    hostname = 'scaler@test'

    def __init__(self) -> None:
        self.consumer = FakeConsumer()


class Req:
    hostname = FakeWorker.hostname

    def __init__(self, id: str) -> None:
        self.id = id
        self.name = 't'


@pytest.fixture
def backlog():
    """Reserve ``n`` requests for the fake worker; returns a setter."""
    state.reset_state()
    held: list[Req] = []

    def set_backlog(n: int) -> None:
        for i in range(n):
            req = Req(f'r{len(held)}-{i}')
            held.append(req)
            state.task_reserved(req)

    yield set_backlog
    state.reset_state()
    state.reserved_by_hostname.pop(FakeWorker.hostname, None)


def make(processes: int, max_: int = 10, min_: int = 2, keepalive: float = 30, **kw):
    pool = FakePool(processes, **kw)
    return pool, Autoscaler(pool, max_, min_, worker=FakeWorker(), keepalive=keepalive)


def test_grows_to_the_backlog_capped_at_max(backlog):
    pool, scaler = make(processes=2, max_=5)
    backlog(8)
    assert scaler.maybe_scale() is True
    assert pool.calls == [('grow', 3)]
    assert pool.maintained == 1


def test_grows_only_to_the_backlog_below_max(backlog):
    pool, scaler = make(processes=2, max_=10)
    backlog(4)
    assert scaler.maybe_scale() is True
    assert pool.calls == [('grow', 2)]


def test_does_nothing_when_the_pool_fits(backlog):
    pool, scaler = make(processes=3)
    backlog(3)
    assert scaler.maybe_scale() is False
    assert pool.calls == [] and pool.maintained == 0


def test_a_backlog_under_min_neither_grows_nor_shrinks_inside_the_bounds(backlog):
    # min is applied when it is set (update), not by the periodic check.
    pool, scaler = make(processes=1, min_=3)
    assert scaler.maybe_scale() is False
    assert pool.calls == []


def test_shrinks_to_min_after_keepalive(backlog):
    pool, scaler = make(processes=2, max_=10, min_=2, keepalive=0)
    backlog(6)
    scaler.maybe_scale()
    state.reset_state()
    assert scaler.maybe_scale() is True
    assert pool.calls == [('grow', 4), ('shrink', 4)]


def test_does_not_shrink_within_keepalive(backlog):
    pool, scaler = make(processes=2, max_=10, min_=2, keepalive=3600)
    backlog(6)
    scaler.maybe_scale()
    state.reset_state()
    # Reports a scale-down attempt, but the keepalive keeps the processes.
    assert scaler.maybe_scale() is True
    assert pool.calls == [('grow', 4)]


def test_never_shrinks_before_any_scale_up(backlog):
    pool, scaler = make(processes=6, max_=10, min_=2, keepalive=0)
    assert scaler.maybe_scale() is True
    assert pool.calls == []


def test_shrink_with_all_processes_busy_is_not_an_error(backlog):
    pool, scaler = make(processes=6, busy=True)
    assert scaler.update(max=3) == (3, 2)
    assert pool.num_processes == 6


def test_update_lowering_max_shrinks_and_lowers_prefetch(backlog):
    pool, scaler = make(processes=8, max_=10, min_=2)
    assert scaler.update(max=5) == (5, 2)
    assert pool.calls == [('shrink', 3)]
    assert scaler.worker.consumer.qos.changes == [-5 * 4]


def test_update_raising_max_raises_prefetch_without_growing(backlog):
    pool, scaler = make(processes=2, max_=4, min_=2)
    assert scaler.update(max=6) == (6, 2)
    assert pool.calls == []
    assert scaler.worker.consumer.qos.changes == [2 * 4]


def test_update_raising_min_grows_at_once(backlog):
    pool, scaler = make(processes=2, max_=10, min_=2)
    assert scaler.update(min=5) == (10, 5)
    assert pool.calls == [('grow', 3)]
    assert scaler.worker.consumer.qos.changes == []


def test_update_with_same_max_leaves_prefetch(backlog):
    pool, scaler = make(processes=2, max_=10, min_=2)
    assert scaler.update(max=10, min=1) == (10, 1)
    assert pool.calls == []
    assert scaler.worker.consumer.qos.changes == []


def test_update_without_a_consumer(backlog):
    pool = FakePool(2)
    scaler = Autoscaler(pool, 4, 1, worker=None)
    assert scaler.update(max=3, min=2) == (3, 2)


def test_info_reports_bounds_size_and_backlog(backlog):
    pool, scaler = make(processes=3, max_=7, min_=1)
    backlog(2)
    assert scaler.info() == {'max': 7, 'min': 1, 'current': 3, 'qty': 2}


def test_body_is_one_scaling_pass_under_the_mutex(backlog):
    import threading
    pool = FakePool(1)
    scaler = Autoscaler(pool, 4, 1, worker=FakeWorker(), mutex=threading.Lock())
    backlog(3)
    scaler.body()
    assert pool.calls == [('grow', 2)] and pool.maintained == 1
    assert not scaler.mutex.locked()


def test_a_received_task_wakes_the_thread_only_when_the_pool_may_grow(backlog):
    scaler = Autoscaler(FakePool(2), 2, 1, worker=FakeWorker())
    backlog(5)
    scaler.on_task_received(Req('x'))
    assert not scaler._wakeup.is_set()  # already at max
    scaler.max_concurrency = 4
    scaler.on_task_received(Req('y'))
    assert scaler._wakeup.is_set()


def test_start_subscribes_to_reserved_tasks_and_stop_wakes_the_thread():
    worker = FakeWorker()
    worker.consumer.on_task_message = set()
    scaler = Autoscaler(FakePool(1), 2, 1, worker=worker)
    scaler.start()
    try:
        assert scaler.on_task_received in worker.consumer.on_task_message
    finally:
        scaler.stop()
    assert not scaler._thread.is_alive()

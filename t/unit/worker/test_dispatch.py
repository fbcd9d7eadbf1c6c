"""FairDispatcher: requests reach the pool only while a process is free."""
from __future__ import annotations

from celery.worker import state
from celery.worker.dispatch import FairDispatcher


class FakeRequest:
    def __init__(self, id: str) -> None:
        self.id = id
        self.name = 'fake'
        self.rejected: list[bool] = []
        self.reported_revoked = False

    def is_revoked(self) -> bool:
        return self.id in state.revoked

    def revoked(self) -> bool:
        self.reported_revoked = True
        state.task_ready(self)
        return True

    def reject(self, requeue: bool = False) -> None:
        self.rejected.append(requeue)

    def humaninfo(self) -> str:
        return self.id


def _receive(dispatcher: FairDispatcher, n: int) -> list[FakeRequest]:
    """Reserve and dispatch ``n`` requests one by one, as the consumer does."""
    requests = [FakeRequest(f'r{i}') for i in range(n)]
    for request in requests:
        state.task_reserved(request)
        dispatcher(request)
    return requests


class FakePool:
    """Takes back whatever was handed over and not started."""

    def __init__(self) -> None:
        self.handed: list[FakeRequest] = []
        self.started: list[FakeRequest] = []

    def apply(self, request: FakeRequest) -> None:
        self.handed.append(request)

    def start(self, request: FakeRequest) -> None:
        self.started.append(request)
        state.active_requests.add(request)

    def take_back(self, requests: list[FakeRequest]) -> list[FakeRequest]:
        taken = [r for r in self.handed if r in requests and r not in self.started]
        self.handed = [r for r in self.handed if r not in taken]
        return taken


def setup_function() -> None:
    state.active_requests.clear()
    state.revoked.clear()
    state.reserved_requests.clear()
    state.reserved_by_hostname.clear()
    state.requests.clear()


def test_dispatches_up_to_the_limit_then_holds():
    applied: list[FakeRequest] = []
    dispatcher = FairDispatcher(applied.append, lambda: 2)
    requests = _receive(dispatcher, 3)
    assert applied == requests[:2]
    assert list(dispatcher.waiting) == [requests[2]]


def test_fill_hands_over_when_a_process_frees_up():
    applied: list[FakeRequest] = []
    dispatcher = FairDispatcher(applied.append, lambda: 1)
    first, second = _receive(dispatcher, 2)
    dispatcher.fill()
    assert applied == [first]          # still busy
    state.task_ready(first)
    dispatcher.fill()
    assert applied == [first, second]
    assert not dispatcher.waiting


def test_release_requeues_waiting_messages():
    dispatcher = FairDispatcher(lambda r: None, lambda: 1)
    first, second, third = _receive(dispatcher, 3)
    assert dispatcher.release() == 2
    assert second.rejected == [True] and third.rejected == [True]
    assert first.rejected == []
    assert second not in state.reserved_requests


def test_keeps_arrival_order_while_holding():
    applied: list[FakeRequest] = []
    limit = [1]
    dispatcher = FairDispatcher(applied.append, lambda: limit[0])
    requests = _receive(dispatcher, 4)
    limit[0] = 4
    dispatcher.fill()
    assert applied == requests


def test_another_workers_requests_do_not_hold_ours():
    # Embedded workers share a process: one's reserved (or leaked) requests
    # must not make another believe its pool is busy.
    other = FakeRequest('other')
    other.hostname = 'a@x'
    state.task_reserved(other)
    applied: list[FakeRequest] = []
    dispatcher = FairDispatcher(applied.append, lambda: 1, reserved=state.reserved_for('b@x'))
    mine = FakeRequest('mine')
    mine.hostname = 'b@x'
    state.task_reserved(mine)
    dispatcher(mine)
    assert applied == [mine]
    state.task_ready(mine)
    assert len(state.reserved_for('b@x')) == 0
    state.forget_requests('a@x')
    assert len(state.reserved_for('a@x')) == 0 and other not in state.reserved_requests


def test_release_takes_back_jobs_no_process_started():
    pool = FakePool()
    dispatcher = FairDispatcher(pool.apply, lambda: 3, take_back=pool.take_back)
    running, queued, other_queued, waiting = _receive(dispatcher, 4)
    pool.start(running)
    assert dispatcher.release() == 3
    assert [r.rejected for r in (queued, other_queued, waiting)] == [[True]] * 3
    assert running.rejected == [] and pool.handed == [running]


def test_revoked_jobs_no_process_started_are_taken_back_and_reported():
    pool = FakePool()
    dispatcher = FairDispatcher(pool.apply, lambda: 3, take_back=pool.take_back)
    running, queued, kept = _receive(dispatcher, 3)
    pool.start(running)
    state.revoked.update([running.id, queued.id])
    assert dispatcher.withdraw_revoked() == 1
    # A started job is the terminate option's business, not this one's.
    assert queued.reported_revoked and not running.reported_revoked
    assert pool.handed == [running, kept]


def test_clear_forgets_jobs_taken_back():
    pool = FakePool()
    dispatcher = FairDispatcher(pool.apply, lambda: 2, take_back=pool.take_back)
    first, second, third = _receive(dispatcher, 3)
    dispatcher.clear()
    assert pool.handed == [] and not dispatcher.waiting
    assert len(state.reserved_requests) == 0
    assert first.rejected == second.rejected == third.rejected == []

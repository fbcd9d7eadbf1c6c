"""``Task.send_event`` custom events from a real worker reach an EventReceiver."""
from __future__ import annotations

import threading

import pytest

from t.conftest import AMQP_URL, REDIS_URL
from t.integration.events.evcluster import WorkerProcess, load_app, new_unique, wait_for


@pytest.mark.parametrize('broker', [AMQP_URL, REDIS_URL], ids=['amqp', 'redis'])
def test_task_progress_events_reach_a_receiver(broker: str) -> None:
    unique = new_unique()
    module = load_app(broker, unique)
    app = module.app
    progress: list[dict] = []
    state = app.events.State()
    ready = threading.Event()
    receivers = []

    def on_progress(event: dict) -> None:
        progress.append(dict(event))
        state.event(event)

    def listen() -> None:
        with app.connection_for_read() as conn:
            recv = app.events.Receiver(conn, handlers={'task-progress': on_progress,
                                                       '*': state.event})
            recv.on_consume_ready = lambda *a, **k: ready.set()
            receivers.append(recv)
            for _ in recv.consume(limit=None, timeout=None):
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    worker = WorkerProcess(broker, unique, 'prog')
    try:
        assert ready.wait(10)
        worker.wait_ready()
        result = module.progress.delay(10)
        assert result.get(timeout=10) == 10
        assert wait_for(lambda: len(progress) == 10, 10), progress
        assert [e['current'] for e in progress] == list(range(1, 11))
        assert all(e['uuid'] == result.id and e['total'] == 10 for e in progress)
        assert all(e['hostname'] == worker.hostname for e in progress)
        task = state.tasks[result.id]
        assert task.current == 10 and task.total == 10
    finally:
        for recv in receivers:
            recv.should_stop = True
        thread.join(5)
        worker.stop()
        app.close()

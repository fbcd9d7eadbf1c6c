"""Events from a real worker started with ``-E``: every type, every field; the State model."""
from __future__ import annotations

import threading
import time

import pytest

from t.conftest import AMQP_URL, REDIS_URL
from t.integration.control.cluster import WorkerProcess, load_app, new_unique, wait_for

ENVELOPE = {'type', 'timestamp', 'hostname', 'utcoffset', 'pid', 'clock', 'local_received'}
WORKER_FIELDS = ENVELOPE | {'freq', 'active', 'processed', 'loadavg', 'sw_ident', 'sw_ver',
                            'sw_sys'}
EXPECTED = {
    'worker-online': WORKER_FIELDS,
    'worker-heartbeat': WORKER_FIELDS,
    'worker-offline': WORKER_FIELDS,
    'task-sent': ENVELOPE | {'uuid', 'root_id', 'parent_id', 'name', 'args', 'kwargs',
                             'retries', 'eta', 'expires', 'queue', 'exchange', 'routing_key'},
    'task-received': ENVELOPE | {'uuid', 'name', 'args', 'kwargs', 'root_id', 'parent_id',
                                 'retries', 'eta', 'expires'},
    'task-started': ENVELOPE | {'uuid'},
    'task-succeeded': ENVELOPE | {'uuid', 'result', 'runtime'},
    'task-failed': ENVELOPE | {'uuid', 'exception', 'traceback'},
    'task-retried': ENVELOPE | {'uuid', 'exception', 'traceback'},
    'task-rejected': ENVELOPE | {'uuid', 'requeue'},
    'task-revoked': ENVELOPE | {'uuid', 'terminated', 'signum', 'expired'},
}


class Capture:
    """An EventReceiver in a thread, collecting every event."""

    def __init__(self, app) -> None:
        self.app = app
        self.events: list[dict] = []
        self.state = app.events.State()
        self.ready = threading.Event()
        self.receiver = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def on_event(self, event: dict) -> None:
        self.events.append(dict(event))
        self.state.event(event)

    def run(self) -> None:
        with self.app.connection_for_read() as conn:
            self.receiver = self.app.events.Receiver(conn, handlers={'*': self.on_event})
            self.receiver.on_consume_ready = lambda *a, **k: self.ready.set()
            for _ in self.receiver.consume(limit=None, timeout=None):
                pass

    def first(self, type_: str, **match) -> dict | None:
        for event in list(self.events):
            if event['type'] == type_ and all(event.get(k) == v for k, v in match.items()):
                return event
        return None

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.should_stop = True
        self.thread.join(5)


@pytest.mark.parametrize('broker', [AMQP_URL, REDIS_URL], ids=['amqp', 'redis'])
def test_worker_with_events_sends_every_event(broker: str) -> None:
    unique = new_unique()
    module = load_app(broker, unique)
    app = module.app
    capture = Capture(app)
    worker = WorkerProcess(broker, unique, 'ev', '-E', '--heartbeat-interval', '1')
    try:
        worker.wait_ready()
        assert wait_for(lambda: capture.first('worker-online'), 10)
        ok = module.add.delay(2, 3)
        failed = module.fails.delay()
        retried = module.retries_once.delay()
        rejected = module.rejects.delay()
        revoked_id = f'revoked-{unique}'
        app.control.revoke(revoked_id)
        time.sleep(0.3)
        module.add.apply_async((1, 1), task_id=revoked_id)
        assert ok.get(timeout=10) == 5
        assert retried.get(timeout=10) == 'done'
        for type_, uuid in [('task-succeeded', ok.id), ('task-failed', failed.id),
                            ('task-retried', retried.id), ('task-rejected', rejected.id),
                            ('task-revoked', revoked_id)]:
            assert wait_for(lambda t=type_, u=uuid: capture.first(t, uuid=u), 10), type_
        assert wait_for(lambda: capture.first('worker-heartbeat', sw_ident='py-celery')
                        and capture.first('worker-heartbeat').get('active') is not None, 5)
    finally:
        worker.stop()
    try:
        assert wait_for(lambda: capture.first('worker-offline'), 10)
        for type_, fields in EXPECTED.items():
            event = capture.first(type_) if type_ != 'worker-heartbeat' else next(
                e for e in capture.events if e['type'] == type_ and 'active' in e)
            assert event is not None, type_
            assert fields <= set(event), (type_, fields - set(event))
        online = capture.first('worker-online')
        assert online['hostname'] == worker.hostname and online['sw_ident'] == 'py-celery'
        assert online['freq'] == 1.0
        succeeded = capture.first('task-succeeded', uuid=ok.id)
        assert succeeded['result'] == '5' and succeeded['runtime'] >= 0
        assert 'KeyError' in capture.first('task-failed', uuid=failed.id)['exception']
        assert capture.first('task-rejected', uuid=rejected.id)['requeue'] is False
        assert capture.first('task-revoked', uuid=revoked_id)['terminated'] is False
        sent = capture.first('task-sent', uuid=ok.id)
        assert sent['name'] == 'ctl.add' and sent['queue'] == f'ctlq-{unique}'

        state = capture.state
        assert state.tasks[ok.id].state == 'SUCCESS'
        assert state.tasks[ok.id].worker.hostname == worker.hostname
        assert state.tasks[failed.id].state == 'FAILURE'
        assert state.tasks[revoked_id].state == 'REVOKED'
        assert ok.id in dict(state.tasks_by_type('ctl.add'))
        assert ok.id in dict(state.tasks_by_worker(worker.hostname))
        assert 'ctl.add' in state.task_types()
        assert worker.hostname in state.workers
        assert not state.workers[worker.hostname].alive  # went offline
        assert state.event_count == len(capture.events)
    finally:
        capture.stop()
        app.close()

"""Public names of celery.contrib: migrate's Filterer steps, rdb as a context manager, testing helpers."""
from __future__ import annotations

import logging
import pickle
import queue
from types import SimpleNamespace

from celery.contrib import migrate, rdb
from celery.contrib.testing.app import TestApp, UnitLogging
from celery.contrib.testing.worker import TestWorkController

from .test_rdb import Session


def message(task='tasks.add', acknowledged=False):
    msg = SimpleNamespace(headers={'id': 'i1', 'task': task}, acknowledged=acknowledged, acks=0)

    def ack():
        msg.acks += 1
        msg.acknowledged = True
    msg.ack = ack
    return msg


def test_filter_callback_only_passes_named_tasks():
    seen = []
    wrapped = migrate.filter_callback(lambda body, msg: seen.append(msg.headers['task']),
                                      ['tasks.add'])
    wrapped(None, message('tasks.add'))
    wrapped(None, message('tasks.mul'))
    assert seen == ['tasks.add']
    every = migrate.filter_callback(lambda body, msg: seen.append('all'), None)
    every(None, message('tasks.mul'))
    assert seen == ['tasks.add', 'all']


def test_state_counts_are_class_defaults():
    assert (migrate.State.count, migrate.State.filtered, migrate.State.total_apx) == (0, 0, 0)
    state = migrate.State()
    state.count += 2
    assert state.count == 2 and migrate.State.count == 0


def filterer(**kwargs):
    app = SimpleNamespace(amqp=None)
    return migrate.Filterer(app, None, lambda body, msg: None, queues=None, **kwargs)


def test_filterer_ack_message_acks_once():
    msg = message()
    f = filterer()
    f.ack_message(None, msg)
    f.ack_message(None, msg)
    assert msg.acks == 1


def test_filterer_update_state_counts_reports_and_stops_at_limit():
    reported = []
    f = filterer(limit=2, callback=lambda state, body, msg: reported.append(state.count))
    f.update_state(None, message())
    try:
        f.update_state(None, message())
    except migrate.StopFiltering:
        stopped = True
    else:
        stopped = False
    assert reported == [1, 2] and stopped and f.state.count == 2


def test_filterer_on_message_uses_the_steps():
    calls = []

    class Recording(migrate.Filterer):
        def ack_message(self, body, msg):
            calls.append('ack')

        def update_state(self, body, msg):
            calls.append('update')
    msg = message()
    msg.decode = lambda: {'x': 1}
    Recording(SimpleNamespace(), None, lambda body, m: calls.append('filter'),
              ack_messages=True).on_message(msg)
    assert calls == ['filter', 'ack', 'update']


def run_debugger_as_context():
    with rdb.Rdb() as debugger:
        inside = debugger.active
    return inside, debugger.active


def test_rdb_context_manager_ends_the_session(monkeypatch):
    session = Session(run_debugger_as_context, monkeypatch)
    assert session.finish() == (True, False)
    assert 'ended.' in session.out.getvalue()


def test_rdb_say_writes_a_line():
    out = []
    fake = SimpleNamespace(out=SimpleNamespace(write=out.append, flush=lambda: None))
    rdb.Rdb.say(fake, m='hello')
    assert ''.join(out) == 'hello\n'


def test_unit_logging_takes_the_app_positionally_or_by_keyword():
    app = TestApp(set_as_current=False)
    assert UnitLogging(app).app is app
    assert UnitLogging(app=app).already_setup is True
    app.close()


def test_test_worker_queue_handler_sends_picklable_records():
    assert TestWorkController.logger_queue is None
    records = queue.Queue()
    handler = TestWorkController.QueueHandler(records)
    assert isinstance(handler, logging.handlers.QueueHandler)
    try:
        raise ValueError('bad')
    except ValueError:
        import sys
        record = logging.LogRecord('t', logging.ERROR, __file__, 1, 'got %r', (object(),),
                                   sys.exc_info())
    handler.handle(record)
    sent = records.get_nowait()
    assert sent.getMessage().startswith('got <object')
    assert 'ValueError: bad' in sent.exc_text and sent.exc_info is None
    pickle.dumps(sent)

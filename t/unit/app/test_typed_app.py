"""Edge cases the app's real types brought to light: each fails clearly now."""
from __future__ import annotations

import pytest

from celery import Celery, states
from celery.app.task import Task


class test_update_state:

    def test_outside_a_task_needs_a_task_id(self, app):
        @app.task
        def t():
            pass
        # Before: stored under the key of task id ``None``.
        with pytest.raises(ValueError, match='task_id'):
            t.update_state(state='PROGRESS')

    def test_with_a_task_id_stores_the_state(self, app):
        @app.task
        def t():
            pass
        t.update_state('some-id', state='PROGRESS', meta={'done': 1})
        assert app.AsyncResult('some-id').state == 'PROGRESS'

    def test_without_a_state_stores_pending(self, app):
        @app.task
        def t():
            pass
        t.update_state('other-id', meta={'done': 1})
        assert app.AsyncResult('other-id').state == states.PENDING


class test_add_to_chord:

    def test_a_chord_without_a_group_is_not_a_chord_member(self, app):
        @app.task(bind=True)
        def t(self):
            return self.add_to_chord(self.s())
        with pytest.raises(ValueError, match='not member of any chord'):
            t.apply(args=(), throw=True, chord={'task': 'x'}).get()


class test_annotations:

    def test_a_method_annotation_must_be_callable(self):
        app = Celery('annotated', set_as_current=False, broker='memory://',
                     task_annotations={'annotated.t': {'@on_failure': 'not callable'}})
        try:
            @app.task(name='annotated.t')
            def t():
                pass
            with pytest.raises(TypeError, match='must be callable'):
                app.finalize()  # binding the task applies the annotations
        finally:
            app.close()


class test_unregistered_task:

    def test_apply_async_of_a_nameless_task_fails_before_publishing(self, app):
        class Nameless(Task):
            pass
        task = Nameless()
        task._app = app
        with pytest.raises(TypeError, match='has no name'):
            task.apply_async()

    def test_request_of_an_unbound_task_binds_it(self, app):
        app.set_current()

        class Unbound(Task):
            name = 'unbound'
        task = Unbound()
        assert task.request.id is None
        assert Unbound.__bound__


class test_log_setup:

    def test_a_stream_as_log_file_with_a_hostname(self, app, monkeypatch):
        # Before: node_format() was given the stream to expand %h in, and failed.
        import io

        from celery import signals
        from celery.app.log import Logging
        monkeypatch.setattr(Logging, '_setup', False)
        for key in ('_MP_FORK_LOGLEVEL_', '_MP_FORK_LOGFILE_', '_MP_FORK_LOGFORMAT_'):
            monkeypatch.delenv(key, raising=False)
        seen = []

        def receiver(logfile=None, **kwargs):
            seen.append(logfile)
        signals.setup_logging.connect(receiver)
        try:
            stream = io.StringIO()
            app.log.setup_logging_subsystem(logfile=stream, hostname='w1@example.com')
        finally:
            signals.setup_logging.disconnect(receiver)
        assert seen == [stream]

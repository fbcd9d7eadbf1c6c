"""celery.worker names Celery plugins use: state tracking, request module names, settings."""
from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest

from celery.worker import components, request, state


@pytest.fixture(autouse=True)
def clean_state():
    state.reset_state()
    yield
    state.reset_state()


class Req:
    def __init__(self, id_, name='proj.t', hostname='w@h'):
        self.id, self.name, self.hostname = id_, name, hostname


def test_scheduled_then_reserved_then_ready():
    req = Req('a')
    state.task_scheduled(req)
    assert req in state.scheduled_requests and state.requests['a'] is req
    state.task_reserved(req)
    assert req not in state.scheduled_requests and req in state.reserved_requests
    state.task_accepted(req)
    assert state.total_count['proj.t'] == 1 and state.all_total_count[0] == 1
    state.task_ready(req, successful=True)
    assert 'a' not in state.requests and 'a' in state.successful_requests


def test_a_scheduled_request_that_is_revoked_is_forgotten():
    req = Req('b')
    state.task_scheduled(req)
    state.task_ready(req)
    assert req not in state.scheduled_requests


def test_task_accepted_counts_through_the_given_callables():
    counted, totals = [], [0]
    state.task_accepted(Req('c'), _all_total_count=totals, add_to_total_count=counted.append)
    assert counted == [{'proj.t': 1}] and totals == [1]


def test_merge_revoked():
    state.merge_revoked(['x', 'y'])
    assert 'x' in state.revoked and 'y' in state.revoked


def test_persistent_uses_its_class_hooks(tmp_path):
    calls = []

    class Tracing(state.Persistent):
        def compress(self, data):  # noqa: D401 - a hook
            calls.append('compress')
            return data

        def decompress(self, data):
            calls.append('decompress')
            return data

    fake_state = SimpleNamespace(revoked=state.revoked)
    state.revoked.add('gone')
    db = Tracing(fake_state, str(tmp_path / 'db'))
    db.save()
    state.revoked.clear()
    Tracing(fake_state, str(tmp_path / 'db')).close()
    assert 'gone' in state.revoked
    assert calls == ['compress', 'decompress']
    assert state.Persistent.protocol == state.pickle_protocol <= pickle.HIGHEST_PROTOCOL


def test_request_module_names():
    assert request.TERM_SIGNAME in ('SIGTERM',) or request.TERM_SIGNAME.startswith('SIG')
    assert request.revoked_tasks is state.revoked
    assert request.revoked_stamps is state.revoked_stamps
    assert isinstance(request.IS_PYPY, bool)
    assert isinstance(components.IS_WINDOWS, bool)

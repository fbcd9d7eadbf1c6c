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
        def compress(self, data):
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


class Request:
    """Something the worker state tracks (weak references need a class)."""

    def __init__(self, id_):
        self.id, self.name, self.hostname = id_, 'proj.t', 'w@h'


def test_a_scheduled_request_leaves_the_reserved_and_active_sets():
    req = Request('s')
    state.task_reserved(req)
    state.task_accepted(req)
    state.task_scheduled(req)
    assert req in state.scheduled_requests
    assert req not in state.reserved_requests and req not in state.active_requests


def test_task_scheduled_uses_the_given_sets():
    req, reserved, active = Request('t'), {'x'}, {'y'}
    reserved.add(req)
    state.task_scheduled(req, all_reserved_requests=reserved, all_active_requests=active)
    assert reserved == {'x'} and active == {'y'}


def test_c_bench_defaults():
    assert state.C_BENCH is None or isinstance(state.C_BENCH, str)
    assert state.C_BENCH_EVERY >= 1


def test_task_bench_prints_every_n_tasks_and_totals(capsys):
    bench = state.TaskBench(every=2)
    reserved, ready = bench.wrap(lambda request: None, lambda request, successful=False: None)
    for _ in range(5):
        reserved('r')
        ready('r', successful=True)
    bench.report()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(' (')[0] for line in lines[:2]] == \
        ['- Time spent processing 2 tasks'] * 2
    assert lines[2].startswith('- Time spent in benchmark:') and '5 tasks' in lines[2]
    assert lines[3].startswith('- Avg:')


def test_c_bench_env_wraps_the_state_functions():
    import os
    import subprocess
    import sys
    code = ('from celery.worker import state, strategy\n'
            'assert state.task_ready.__wrapped__ and strategy.task_reserved is state.task_reserved\n'
            'class R: id = "a"; name = "t"; hostname = "h"\n'
            'r = R(); state.task_reserved(r); state.task_ready(r)\n')
    env = dict(os.environ, C_BENCH='1', C_BENCH_EVERY='1')
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert '- Time spent processing 1 tasks' in out and '- Avg:' in out


def test_strategy_module_names():
    from celery.utils.time import timezone
    from celery.worker import strategy
    assert strategy.timezone is timezone
    assert strategy.proto1_to_proto2 is strategy.hybrid_to_proto2

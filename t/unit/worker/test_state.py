"""Worker state bookkeeping and the statedb file."""
from __future__ import annotations

from celery.worker import state


class Req:
    def __init__(self, id, name='t'):
        self.id, self.name = id, name


def test_reserved_accepted_ready_cycle():
    state.reset_state()
    r = Req('a')
    state.task_reserved(r)
    assert r in state.reserved_requests
    state.task_accepted(r)
    assert r in state.active_requests and state.total_count['t'] == 1
    state.task_ready(r, successful=True)
    assert r not in state.active_requests and r not in state.reserved_requests
    assert 'a' in state.successful_requests
    state.reset_state()


def test_persistent_revokes_survive_restart(tmp_path):
    state.reset_state()
    state.revoked.add('gone')
    db = state.Persistent(state, str(tmp_path / 'worker.db'))
    db.save()
    state.revoked.clear()
    state.Persistent(state, str(tmp_path / 'worker.db')).close()
    assert 'gone' in state.revoked
    state.reset_state()

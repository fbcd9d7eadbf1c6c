"""Task states compare by precedence; unknown states rank between FAILURE and REVOKED."""
from __future__ import annotations

from celery import states
from celery.states import precedence, state


def test_precedence_order():
    assert [precedence(s) for s in (states.SUCCESS, states.FAILURE)] == [0, 1]
    assert precedence('CUSTOM') == precedence(None) == 2
    assert precedence(states.PENDING) == len(states.PRECEDENCE) - 1


def test_state_comparisons():
    assert state(states.SUCCESS) > state(states.PENDING)
    assert state(states.PENDING) < state(states.STARTED)
    assert state('CUSTOM') > state(states.REVOKED)
    assert state('CUSTOM') < state(states.FAILURE)
    assert state(states.RETRY) >= state(states.RETRY) and state(states.RETRY) <= states.RETRY
    assert {state(states.SUCCESS)} == {states.SUCCESS}


def test_state_sets():
    assert states.READY_STATES == {'SUCCESS', 'FAILURE', 'REVOKED'}
    assert states.PROPAGATE_STATES < states.EXCEPTION_STATES
    assert not states.READY_STATES & states.UNREADY_STATES
    assert states.IGNORED == 'IGNORED' and states.IGNORED not in states.ALL_STATES

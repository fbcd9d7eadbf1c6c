"""setup_default_app forgets the apps created inside it, and restores after errors too."""
from __future__ import annotations

import pytest

from celery import _state
from celery.contrib.testing.app import TestApp, setup_default_app


def test_apps_created_in_the_block_are_forgotten() -> None:
    app = TestApp()
    before = set(_state._apps)
    apps_set = _state._apps
    with setup_default_app(app):
        inner = TestApp(name='made-inside')
        assert inner in _state._apps
    assert _state._apps is apps_set
    assert set(_state._apps) == before
    inner.close()


def test_state_is_restored_when_the_block_raises() -> None:
    app = TestApp()
    prev_default = _state.default_app
    with pytest.raises(KeyError), setup_default_app(app, use_trap=True):
        app.set_default()
        raise KeyError('boom')
    assert _state.default_app is prev_default

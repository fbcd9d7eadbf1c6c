"""``celery.loaders.default.C_WNOCONF``: warn about a missing default configuration module."""
from __future__ import annotations

import warnings

import pytest

from celery.exceptions import NotConfigured
from celery.loaders import default


def test_c_wnoconf_defaults_to_false():
    assert default.C_WNOCONF is False


def test_c_wnoconf_makes_a_missing_celeryconfig_warn(app, monkeypatch):
    monkeypatch.delenv('CELERY_CONFIG_MODULE', raising=False)
    monkeypatch.delenv('FORKED_BY_MULTIPROCESSING', raising=False)
    monkeypatch.setattr(default, 'DEFAULT_CONFIG_MODULE', 'no_such_celeryconfig_module')
    loader = default.Loader(app=app)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert dict(loader.read_configuration()) == {}
    monkeypatch.setattr(default, 'C_WNOCONF', True)
    with pytest.warns(NotConfigured):
        loader.read_configuration()

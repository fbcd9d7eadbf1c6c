"""Helpers of ``_start_worker_process`` that need no broker."""
from __future__ import annotations

import sys
import types

import pytest

from celery import Celery
from celery.contrib.testing.worker import _importable_name, _worker_options
from celery.exceptions import ImproperlyConfigured


def test_importable_name_finds_the_module_attribute(unique: str) -> None:
    module = types.ModuleType(f'fake_proj_{unique}')
    module.celery_app = Celery(module.__name__, set_as_current=False)
    sys.modules[module.__name__] = module
    try:
        assert _importable_name(module.celery_app) == f'{module.__name__}:celery_app'
    finally:
        del sys.modules[module.__name__]


def test_app_defined_in_a_function_cannot_be_imported(app: Celery) -> None:
    with pytest.raises(ImproperlyConfigured, match="app_path='module:attribute'"):
        _importable_name(app)


def test_worker_options_turn_keywords_into_flags() -> None:
    options = _worker_options('proj:app', '/tmp/w', 'prefork', 2, 'INFO', None,
                              {'queues': 'a,b', 'task_events': True, 'beat': False,
                               'autoscale': None})
    assert options['-A'] == 'proj:app' and options['--pool'] == 'prefork'
    assert options['--concurrency'] == '2' and options['--queues'] == 'a,b'
    assert options['--task-events'] == '' and '--beat' not in options
    assert '--autoscale' not in options
    assert options['--pidfile'] == '/tmp/w/%n.pid' and options['--logfile'] == '/tmp/w/%n.log'

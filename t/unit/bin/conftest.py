"""Run the ``celery`` command in-process against a test app."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from celery.bin.celery import celery


@pytest.fixture
def run(app):
    """Invoke ``celery ARGS...`` with ``app`` as the -A application; returns the click Result."""
    runner = CliRunner()
    param = celery.params[0]
    previous = param.default

    def invoke(*args: str, **kwargs):
        param.default = app
        try:
            return runner.invoke(celery, list(args), catch_exceptions=False, **kwargs)
        finally:
            param.default = previous
    return invoke

"""The two tasks the canvas unit tests compose, on the suite's in-memory ``app``."""
from __future__ import annotations

import pytest


@pytest.fixture
def add(app):
    @app.task(name='t.add')
    def add(x, y):
        return x + y
    return add


@pytest.fixture
def tsum(app):
    @app.task(name='t.tsum')
    def tsum(numbers):
        return sum(numbers)
    return tsum

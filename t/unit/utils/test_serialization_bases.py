"""Which base classes an unpicklable exception may fall back to."""
from __future__ import annotations

from celery.utils.serialization import find_pickleable_exception, unwanted_base_classes


class Unpicklable(KeyError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = __import__('threading').Lock()


class UnpicklableError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = __import__('threading').Lock()


def test_unwanted_base_classes():
    assert unwanted_base_classes == (Exception, BaseException, object)


def test_falls_back_to_the_first_wanted_base():
    found = find_pickleable_exception(Unpicklable('boom'))
    assert type(found) is KeyError and found.args == ('boom',)


def test_never_falls_back_to_an_unwanted_base():
    assert find_pickleable_exception(UnpicklableError('boom')) is None

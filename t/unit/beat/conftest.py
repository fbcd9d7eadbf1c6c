"""Helpers for scheduler tests: a controllable clock and a recording scheduler."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from celery.beat import PersistentScheduler, Scheduler


class Clock:
    """A fake ``nowfun`` that tests move forward by hand.

    Pickles as a reference to the current test's clock, so schedules read
    back from a schedule file keep following it.
    """

    current: Clock | None = None

    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def __reduce__(self) -> tuple:
        return _current_clock, ()


def _current_clock() -> Clock:
    return Clock.current


class RecordingMixin:
    """Record sent tasks instead of publishing; optionally fail like a broker."""

    producer = None  # never connect in unit tests

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[tuple] = []
        self.fail_with: BaseException | None = None
        self.syncs = 0
        super().__init__(*args, **kwargs)

    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        options.pop('producer', None)
        self.sent.append((name, tuple(args), dict(kwargs), options))

    def sync(self) -> None:
        self.syncs += 1
        super().sync()


class RecordingScheduler(RecordingMixin, Scheduler):
    pass


class RecordingPersistentScheduler(RecordingMixin, PersistentScheduler):
    pass


@pytest.fixture
def clock() -> Clock:
    Clock.current = Clock()
    yield Clock.current
    Clock.current = None

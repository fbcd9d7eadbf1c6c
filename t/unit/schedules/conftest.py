"""A minimal app stand-in so schedule arithmetic is tested with a fixed clock."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from celery.utils.time import timezone


class FixedClockApp:
    """Just what schedules read from an app: time zone, settings and ``now``."""

    def __init__(self, tz: str = 'UTC', enable_utc: bool = True, **settings: Any) -> None:
        self.timezone = timezone.get_timezone(tz)
        self.conf = {'enable_utc': enable_utc, 'timezone': tz,
                     'beat_cron_starting_deadline': None, **settings}
        self.clock = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.clock.astimezone(self.timezone)


class _Conf(dict):
    def __getattr__(self, key: str) -> Any:
        return self[key]


@pytest.fixture
def make_app():
    def factory(tz: str = 'UTC', enable_utc: bool = True, **settings: Any) -> FixedClockApp:
        app = FixedClockApp(tz, enable_utc, **settings)
        app.conf = _Conf(app.conf)
        return app
    return factory

"""What every schedule shares: the answer type, the clock, the app and the time zone."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, NamedTuple

from celery.utils.time import maybe_make_aware, timezone

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('schedstate', 'BaseSchedule')


class schedstate(NamedTuple):
    """Answer of ``is_due``: whether to run now, and seconds until the next check."""

    is_due: bool
    next: float


class BaseSchedule:
    """Common base of schedules: clock, app and time zone handling."""

    #: A zone set on this schedule; None means "the app's time zone".
    _tz: tzinfo | None = None

    def __init__(self, nowfun: Callable[[], datetime] | None = None,
                 app: Celery | None = None) -> None:
        self.nowfun = nowfun
        self._app = app

    def now(self) -> datetime:
        """Return the current time in the app's time zone."""
        return (self.nowfun or self.app.now)()

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Return the time left until the next run after ``last_run_at``."""
        raise NotImplementedError('schedules must implement remaining_estimate')

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Return whether a run is due and how many seconds until the next check."""
        raise NotImplementedError('schedules must implement is_due')

    def maybe_make_aware(self, dt: datetime, naive_as_utc: bool = True) -> datetime:
        """Make a naive ``dt`` aware in this schedule's zone; aware values pass unchanged."""
        return maybe_make_aware(dt, self.tz, naive_as_utc=naive_as_utc)

    def to_local(self, dt: datetime) -> datetime:
        """Convert ``dt`` to the local zone when UTC is disabled."""
        if not self.utc_enabled:
            return timezone.to_local_fallback(dt)
        return dt

    @property
    def app(self) -> Celery:
        """The app this schedule belongs to (the current app if unset)."""
        if self._app is not None:
            return self._app
        from celery._state import current_app
        return current_app._get_current_object()

    @app.setter
    def app(self, app: Celery | None) -> None:
        self._app = app

    @property
    def tz(self) -> tzinfo:
        """The zone run times are computed in: the one set here, else the app's."""
        if self._tz is not None:
            return self._tz
        return self.app.timezone

    @tz.setter
    def tz(self, zone: tzinfo | str | None) -> None:
        # Database schedulers (django-celery-beat) assign a zone per entry.
        self._tz = None if zone is None else timezone.get_timezone(zone)

    @property
    def utc_enabled(self) -> bool:
        """Whether the app has ``enable_utc`` set."""
        return self.app.conf.enable_utc

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BaseSchedule):
            return other.nowfun == self.nowfun
        return NotImplemented

    __hash__ = object.__hash__

"""Periodic snapshots of the cluster state (``celery events --camera``).

A camera is a :class:`Polaroid` subclass: every ``freq`` seconds it freezes
the :class:`~celery.events.state.State` built from the event stream and
hands it to :meth:`Polaroid.on_shutter`, at most ``maxrate`` times.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import platforms
from celery.exceptions import ImproperlyConfigured
from celery.utils.dispatch import Signal
from celery.utils.imports import symbol_by_name
from celery.utils.log import get_logger
from celery.utils.time import rate

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.events.state import State
    from celery.utils.timer2 import Timer

__all__ = ('Polaroid', 'evcam')

logger = get_logger(__name__)

E_CAMERA_IMPORT = ("Cannot load the camera {name!r}: {exc}. Give the camera class as "
                   "'module.Class' (or 'module:Class') importable from the current "
                   "directory or PYTHONPATH.")
E_CAMERA_TYPE = ('The camera {name!r} is {obj!r}, not a class: pass a subclass of '
                 'celery.events.snapshot.Polaroid.')


class Polaroid:
    """Record a :class:`~celery.events.state.State` every ``freq`` seconds.

    Subclass it and implement :meth:`on_shutter` to store the state.
    """

    timer: Any = None
    shutter_signal = Signal(name='shutter', providing_args={'state'})
    cleanup_signal = Signal(name='cleanup')
    clear_after = False

    _tref: Any = None
    _ctref: Any = None

    def __init__(self, state: State, freq: float = 1.0, maxrate: str | float | None = None,
                 cleanup_freq: float = 3600.0, timer: Timer | None = None,
                 app: Celery | None = None) -> None:
        from kombu.utils.limits import TokenBucket
        self.app = app
        self.state = state
        self.freq = freq
        self.cleanup_freq = cleanup_freq
        self.timer = timer or self.timer or _new_timer()
        self.logger = logger
        self.maxrate = TokenBucket(rate(maxrate)) if maxrate else None

    def install(self) -> None:
        """Start taking pictures on the timer."""
        self._tref = self.timer.call_repeatedly(self.freq, self.capture)
        self._ctref = self.timer.call_repeatedly(self.cleanup_freq, self.cleanup)

    def on_shutter(self, state: State) -> None:
        """Store ``state`` (override)."""

    def on_cleanup(self) -> None:
        """Forget old data (override)."""

    def cleanup(self) -> None:
        """Run the cleanup hooks."""
        logger.debug('Cleanup: Running...')
        self.cleanup_signal.send(sender=self.state)
        self.on_cleanup()

    def shutter(self) -> None:
        """Take a picture now (subject to ``maxrate``)."""
        if self.maxrate is None or self.maxrate.can_consume():
            logger.debug('Shutter: %s', self.state)
            self.shutter_signal.send(sender=self.state)
            try:
                self.on_shutter(self.state)
            except Exception:
                logger.exception('Camera %s failed to store a snapshot; it keeps running '
                                 'and tries again in %s seconds.',
                                 type(self).__name__, self.freq)

    def capture(self) -> None:
        """Take a picture while no event changes the state."""
        self.state.freeze_while(self.shutter, clear_after=self.clear_after)

    def cancel(self) -> None:
        """Take a last picture of what was received, then stop taking pictures."""
        if self._tref is not None:
            self.capture()
            self._tref.cancel()
        if self._ctref is not None:
            self._ctref.cancel()
        self._tref = self._ctref = None

    def __enter__(self) -> Polaroid:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()


def _new_timer() -> Timer:
    from celery.utils.timer2 import Timer
    return Timer()


def _exit_gracefully(signum: int, frame: Any) -> None:
    # SIGTERM is how a detached camera is stopped: leave through the
    # ``finally`` below so the last events are photographed too.
    raise SystemExit(0)


def load_camera(name: str | type) -> type:
    """Return the camera class named ``name`` (``module.Class``), with a clear error."""
    if isinstance(name, type):
        return name
    try:
        camera = symbol_by_name(name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ImproperlyConfigured(E_CAMERA_IMPORT.format(name=name, exc=exc)) from exc
    if not isinstance(camera, type):
        raise ImproperlyConfigured(E_CAMERA_TYPE.format(name=name, obj=camera))
    return camera


def evcam(camera: str | type, freq: float = 1.0, maxrate: str | float | None = None,
          loglevel: int | str = 0, logfile: str | None = None, pidfile: str | None = None,
          timer: Timer | None = None,
          app: Celery | None = None, **kwargs: Any) -> None:
    """Run the ``camera`` class (``module.Class``) on the event stream until interrupted."""
    from celery._state import app_or_default
    app = app_or_default(app)
    camera_cls = load_camera(camera)
    if pidfile:
        platforms.create_pidlock(pidfile)
    app.log.setup_logging_subsystem(loglevel, logfile)
    print(f'-> evcam: Taking snapshots with {camera_cls.__module__}.'
          f'{camera_cls.__qualname__} (every {freq} secs.)', flush=True)
    state = app.events.State()
    cam = camera_cls(state, app=app, freq=freq, maxrate=maxrate, timer=timer)
    platforms.signals['TERM'] = _exit_gracefully
    cam.install()
    conn = app.connection_for_read()
    recv = app.events.Receiver(conn, handlers={'*': state.event})
    try:
        try:
            recv.capture(limit=None)
        except KeyboardInterrupt:
            raise SystemExit from None
    finally:
        cam.cancel()
        conn.close()

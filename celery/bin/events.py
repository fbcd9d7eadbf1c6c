"""``celery events``: the curses monitor, ``--dump`` and ``--camera``."""
from __future__ import annotations

import sys
from functools import partial
from typing import Any

import click

from celery.bin.base import (
    LOG_LEVEL,
    CeleryDaemonCommand,
    CeleryOption,
    handle_preload_options,
)
from celery.exceptions import ImproperlyConfigured
from celery.platforms import detached, set_process_title, strargv

__all__ = ('events',)


def _set_process_status(prog: str, info: str = '') -> str:
    return set_process_title(prog, info=f'{info} {strargv(sys.argv)}'.strip())


def _run_evdump(app: Any) -> None:
    from celery.events.dumper import evdump
    _set_process_status('celery events', 'dump')
    evdump(app=app)


def _run_evcam(camera: str, app: Any, logfile: str | None = None,
               pidfile: str | None = None, uid: Any = None, gid: Any = None,
               umask: Any = None, workdir: str | None = None, detach: bool = False,
               **kwargs: Any) -> None:
    from celery.events.snapshot import evcam, load_camera
    try:
        camera_cls = load_camera(camera)
    except ImproperlyConfigured as exc:
        raise click.UsageError(str(exc)) from exc
    _set_process_status('celery events', 'cam')
    kwargs['app'] = app
    cam = partial(evcam, camera_cls, logfile=logfile, pidfile=pidfile, **kwargs)
    if detach:
        with detached(logfile, pidfile, uid, gid, umask, workdir):
            cam()
    else:
        cam()


def _run_evtop(app: Any) -> None:
    try:
        from celery.events.cursesmon import evtop
    except ImportError as exc:
        raise click.UsageError(
            f'The curses monitor is not available on this platform ({exc}); '
            'use --dump or --camera instead.') from exc
    _set_process_status('celery events', 'top')
    evtop(app=app)


@click.command(cls=CeleryDaemonCommand)
@click.option('-d', '--dump', cls=CeleryOption, is_flag=True, help_group='Dumper',
              help='Dump events to stdout.')
@click.option('-c', '--camera', cls=CeleryOption, help_group='Snapshot',
              help='Take snapshots of events using this camera.')
@click.option('--detach', cls=CeleryOption, is_flag=True, help_group='Snapshot',
              help='Camera: Detach and run in the background as a daemon.')
@click.option('-F', '--frequency', '--freq', type=float, default=1.0, cls=CeleryOption,
              help_group='Snapshot', help='Camera: Shutter frequency.  Default is every 1.0 seconds.')
@click.option('-r', '--maxrate', cls=CeleryOption, help_group='Snapshot',
              help='Camera: Optional shutter rate limit (e.g., 10/m).')
@click.option('-l', '--loglevel', default='WARNING', cls=CeleryOption, type=LOG_LEVEL,
              help_group='Snapshot', help='Logging level.')
@click.pass_context
@handle_preload_options
def events(ctx: click.Context, dump: bool, camera: str | None, detach: bool,
           frequency: float, maxrate: str | None, loglevel: int, **kwargs: Any) -> None:
    """Event-stream utilities."""
    app = ctx.obj.app
    if dump:
        return _run_evdump(app)
    if camera:
        return _run_evcam(camera, app=app, freq=frequency, maxrate=maxrate,
                          loglevel=loglevel, detach=detach, **kwargs)
    return _run_evtop(app)

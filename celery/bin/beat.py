"""``celery beat``: start the periodic task scheduler."""
from __future__ import annotations

from functools import partial
from typing import Any

import click
from click import Context

from celery.bin.base import (
    LOG_LEVEL,
    CeleryDaemonCommand,
    CeleryOption,
    handle_preload_options,
)
from celery.platforms import detached, maybe_drop_privileges

__all__ = ('beat',)


def _setting_default(setting: str) -> Any:
    def callback(ctx: Context, param: click.Parameter, value: Any) -> Any:
        return value or ctx.obj.app.conf.get(setting)
    return callback


@click.command(cls=CeleryDaemonCommand, context_settings={'allow_extra_args': True})
@click.option('-D', '--detach', cls=CeleryOption, is_flag=True, default=False,
              help_group='Beat Options', help='Detach and run in the background as a daemon.')
@click.option('-s', '--schedule', cls=CeleryOption,
              callback=_setting_default('beat_schedule_filename'), help_group='Beat Options',
              help='Path to the schedule database.  Defaults to `celerybeat-schedule`. '
                   'The extension ".db" may be appended to the filename.')
@click.option('-S', '--scheduler', cls=CeleryOption,
              callback=_setting_default('beat_scheduler'), help_group='Beat Options',
              help='Scheduler class to use.')
@click.option('--max-interval', cls=CeleryOption, type=int, help_group='Beat Options',
              help='Max seconds to sleep between schedule iterations.')
@click.option('-l', '--loglevel', default='WARNING', cls=CeleryOption, type=LOG_LEVEL,
              help_group='Beat Options', help='Logging level.')
@click.pass_context
@handle_preload_options
def beat(ctx: Context, detach: bool = False, logfile: str | None = None,
         pidfile: str | None = None, uid: int | str | None = None,
         gid: int | str | None = None, umask: int | str | None = None,
         workdir: str | None = None, **kwargs: Any) -> None:
    """Start the beat periodic task scheduler."""
    app = ctx.obj.app
    if ctx.args:
        try:
            app.config_from_cmdline(ctx.args)
        except (KeyError, ValueError) as exc:
            raise click.UsageError('Unable to parse extra configuration from command line.\n'
                                   f'Reason: {exc}', ctx=ctx) from exc
    kwargs.pop('executable', None)
    if not detach:
        maybe_drop_privileges(uid=uid, gid=gid)
    make_beat = partial(app.Beat, logfile=logfile, pidfile=pidfile,
                        quiet=ctx.obj.quiet, **kwargs)
    if detach:
        with detached(logfile, pidfile, uid, gid, umask, workdir):
            make_beat().run()
            return
    make_beat().run()

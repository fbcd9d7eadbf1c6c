"""Distributed Task Queue.

Importing this package is cheap: the public names below are imported on
first attribute access, so ``import celery`` loads no kombu transport, no
billiard and no click.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

SERIES = 'collider'

__version__ = '5.7.0'
__author__ = "The project's founding engineers"
__homepage__ = 'https://docs.celeryq.dev/'
__docformat__ = 'restructuredtext'
__keywords__ = 'task job queue distributed messaging actor'


class version_info_t(NamedTuple):
    """Version as a tuple: ``(major, minor, micro, releaselevel, serial)``."""

    major: int
    minor: int
    micro: int
    releaselevel: str
    serial: str


VERSION = version_info = version_info_t(5, 7, 0, '', '')
VERSION_BANNER = f'{__version__} ({SERIES})'

__all__ = (
    'Celery', 'bugreport', 'shared_task', 'Task',
    'current_app', 'current_task', 'maybe_signature',
    'chain', 'chord', 'chunks', 'group', 'signature',
    'xmap', 'xstarmap', 'uuid',
)

#: Public name -> module that defines it.
_LAZY_NAMES = {
    'Celery': 'celery.app.base',
    'shared_task': 'celery.app',
    'bugreport': 'celery.app',
    'Task': 'celery.app.task',
    'current_app': 'celery._state',
    'current_task': 'celery._state',
    'Signature': 'celery.canvas',
    'chain': 'celery.canvas',
    'chord': 'celery.canvas',
    'chunks': 'celery.canvas',
    'group': 'celery.canvas',
    'maybe_signature': 'celery.canvas',
    'signature': 'celery.canvas',
    'subtask': 'celery.canvas',
    'xmap': 'celery.canvas',
    'xstarmap': 'celery.canvas',
    'uuid': 'celery.utils',
}


if TYPE_CHECKING:
    # What the lazy names resolve to, for type checkers (no import at run time).
    from celery._state import current_app, current_task
    from celery.app import bugreport, shared_task
    from celery.app.base import Celery
    from celery.app.task import Task
    from celery.canvas import (
        Signature as Signature,
        chain,
        chord,
        chunks,
        group,
        maybe_signature,
        signature,
        subtask as subtask,
        xmap,
        xstarmap,
    )
    from celery.utils import uuid


def __getattr__(name: str) -> Any:
    if name == 'local':
        # Celery exposes this submodule as an attribute; importing it binds it here.
        return importlib.import_module('celery.local')
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES) | {'local'})


def _find_option_with_arg(argv: list[str], short_opts: tuple[str, ...] = (),
                          long_opts: tuple[str, ...] = ()) -> str:
    """Return the value of an option in ``argv`` (``-P x``, ``-Px`` or ``--pool=x``)."""
    for i, arg in enumerate(argv):
        if arg.startswith('-'):
            if long_opts and arg.startswith('--'):
                name, sep, val = arg.partition('=')
                if name in long_opts:
                    return val if sep else argv[i + 1]
            if short_opts and arg[:2] in short_opts:
                return arg[2:] or argv[i + 1]
    raise KeyError('|'.join(short_opts + long_opts))


def _patch_eventlet() -> None:
    import eventlet.debug
    eventlet.monkey_patch()
    blockdetect = float(os.environ.get('EVENTLET_NOBLOCK', 0))
    if blockdetect:
        eventlet.debug.hub_blocking_detection(blockdetect, blockdetect)


def _patch_gevent() -> None:
    import gevent.monkey
    import gevent.signal
    gevent.monkey.patch_all()


def maybe_patch_concurrency(argv: list[str] | None = None,
                            short_opts: tuple[str, ...] = ('-P',),
                            long_opts: tuple[str, ...] = ('--pool',),
                            patches: dict[str, Any] | None = None) -> None:
    """Monkey patch the environment when ``-P eventlet|gevent`` is in ``argv``.

    This must run before anything else imports sockets or threads.
    """
    argv = sys.argv if argv is None else argv
    patches = patches or {'eventlet': _patch_eventlet, 'gevent': _patch_gevent}
    try:
        pool = _find_option_with_arg(argv, short_opts, long_opts)
    except (KeyError, IndexError):
        return
    patcher = patches.get(pool)
    if patcher is not None:
        patcher()
        # Set the default pool so later imports see it.
        from celery import concurrency
        if pool in concurrency.get_available_pool_names():
            concurrency.set_default_pool(pool)

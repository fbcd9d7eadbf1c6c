"""``celery shell``: an interactive Python shell with the app and its tasks loaded."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from celery.bin.base import CeleryCommand, CeleryOption, handle_preload_options

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('shell',)


def _invoke_fallback_shell(locals_: dict[str, Any]) -> None:
    import code
    try:
        import readline
        import rlcompleter
    except ImportError:
        pass
    else:
        readline.set_completer(rlcompleter.Completer(locals_).complete)
        readline.parse_and_bind('tab:complete')
    code.interact(local=locals_, banner='')


def _invoke_bpython_shell(locals_: dict[str, Any]) -> None:
    import bpython
    bpython.embed(locals_)


def _invoke_ipython_shell(locals_: dict[str, Any]) -> None:
    from IPython import start_ipython
    start_ipython(argv=[], user_ns=locals_)


def _invoke_default_shell(locals_: dict[str, Any]) -> None:
    for invoke in (_invoke_ipython_shell, _invoke_bpython_shell):
        try:
            return invoke(locals_)
        except ImportError:
            continue
    return _invoke_fallback_shell(locals_)


def shell_namespace(app: Celery, without_tasks: bool = False) -> dict[str, Any]:
    """Return the names preloaded into the shell: the app, canvas primitives and tasks."""
    import celery
    from celery import canvas
    app.loader.import_default_modules()
    namespace: dict[str, Any] = {
        'app': app, 'celery': app, 'Task': app.Task,
        'chord': canvas.chord, 'group': canvas.group, 'chain': canvas.chain,
        'chunks': canvas.chunks, 'xmap': canvas.xmap, 'xstarmap': canvas.xstarmap,
        'subtask': canvas.signature, 'signature': canvas.signature,
        'current_app': celery.current_app,
    }
    if not without_tasks:
        namespace.update({task.__name__: task for task in app.tasks.values()
                          if not task.name.startswith('celery.')})
    return namespace


@click.command(cls=CeleryCommand, context_settings={'allow_extra_args': True})
@click.option('-I', '--ipython', is_flag=True, cls=CeleryOption, help_group='Shell Options',
              help='Force IPython.')
@click.option('-B', '--bpython', is_flag=True, cls=CeleryOption, help_group='Shell Options',
              help='Force bpython.')
@click.option('--python', is_flag=True, cls=CeleryOption, help_group='Shell Options',
              help='Force default Python shell.')
@click.option('-T', '--without-tasks', is_flag=True, cls=CeleryOption,
              help_group='Shell Options', help="Don't add tasks to locals.")
@click.option('--eventlet', is_flag=True, cls=CeleryOption, help_group='Shell Options',
              help='Use eventlet.')
@click.option('--gevent', is_flag=True, cls=CeleryOption, help_group='Shell Options',
              help='Use gevent.')
@click.pass_context
@handle_preload_options
def shell(ctx: click.Context, ipython: bool = False, bpython: bool = False, python: bool = False,
          without_tasks: bool = False, eventlet: bool = False, gevent: bool = False,
          **kwargs: Any) -> None:
    """Start shell session with convenient access to celery symbols.

    The following symbols will be added to the main globals:
    - ``celery``:  the current application.
    - ``chord``, ``group``, ``chain``, ``chunks``,
      ``xmap``, ``xstarmap`` ``subtask``, ``Task``
    - all registered tasks.
    """
    if eventlet:
        import eventlet as _eventlet
        _eventlet.monkey_patch()
    if gevent:
        import gevent.monkey
        gevent.monkey.patch_all()
    namespace = shell_namespace(ctx.obj.app, without_tasks=without_tasks)
    if python:
        return _invoke_fallback_shell(namespace)
    if bpython:
        return _invoke_bpython_shell(namespace)
    if ipython:
        return _invoke_ipython_shell(namespace)
    return _invoke_default_shell(namespace)

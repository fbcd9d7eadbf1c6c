"""``celery multi``: start, stop and restart several worker nodes at once.

Examples::

    # Three nodes celery1..3@host with 3 processes each
    $ celery -A proj multi start 3 -c 3

    # Named nodes, -Q only for the "images" node, -c 10 for nodes 1 to 2
    $ celery -A proj multi start images video -Q:images images -c:1-2 10

    # Show the commands without running them
    $ celery -A proj multi show 3 -l INFO

    # Stop and wait for running tasks to finish
    $ celery multi stopwait 3
"""
from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from functools import wraps
from typing import IO, Any, ClassVar

import click

from celery import VERSION_BANNER
from celery.apps.multi import (
    CLUSTER_CALLBACKS,
    Cluster,
    MultiParser,
    NamespacedOptionParser,
    Node,
    celery_exe,
    parse_signal,
)
from celery.bin.base import CeleryCommand, handle_preload_options  # noqa: F401 (re-exported)
from celery.platforms import EX_FAILURE, EX_OK, EX_USAGE, signals  # noqa: F401 (re-exported)
from celery.utils import term
from celery.utils.text import pluralize

__all__ = ('MultiTool',)

#: :class:`Cluster` under a name the ``MultiTool.Cluster`` factory does not shadow.
NodeCluster = Cluster



def splash(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a :class:`MultiTool` command to print the banner first."""
    @wraps(fun)
    def _inner(self: TermLogger, *args: Any, **kwargs: Any) -> Any:
        self.splash()
        return fun(self, *args, **kwargs)
    return _inner


def using_cluster(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command taking a cluster to take the node arguments instead."""
    @wraps(fun)
    def _inner(self: MultiTool, *argv: str, **kwargs: Any) -> Any:
        return fun(self, self.cluster_from_argv(argv), **kwargs)
    return _inner


def using_cluster_and_sig(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Like :func:`using_cluster`, also passing the signal a ``-SIG`` argument names."""
    @wraps(fun)
    def _inner(self: MultiTool, *argv: str, **kwargs: Any) -> Any:
        argv, sig = _pop_signal(argv, signal.SIGTERM)
        return fun(self, self.cluster_from_argv(argv), sig, **kwargs)
    return _inner


# Celery's user-visible text, kept verbatim
USAGE = """\
usage: {prog_name} start <node1 node2 nodeN|range> [worker options]
       {prog_name} stop <n1 n2 nN|range> [-SIG (default: -TERM)]
       {prog_name} restart <n1 n2 nN|range> [-SIG] [worker options]
       {prog_name} kill <n1 n2 nN|range>

       {prog_name} show <n1 n2 nN|range> [worker options]
       {prog_name} get hostname <n1 n2 nN|range> [-qv] [worker options]
       {prog_name} names <n1 n2 nN|range>
       {prog_name} expand template <n1 n2 nN|range>
       {prog_name} help

additional options (must appear after command name):

    * --nosplash:   Don't display program info.
    * --quiet:      Don't show as much output.
    * --verbose:    Show more output.
    * --no-color:   Don't display colors.
"""


class TermLogger:
    """Terminal output for ``multi``: quiet/verbose levels, colours and the banner."""

    # Celery's user-visible text, kept verbatim.
    splash_text = 'celery multi v{version}'
    splash_context: ClassVar[dict[str, str]] = {'version': VERSION_BANNER}

    #: The exit code a failed step leaves.
    retcode = 0

    def setup_terminal(self, stdout: IO[str] | None, stderr: IO[str] | None,
                       nosplash: bool = False, quiet: bool = False, verbose: bool = False,
                       no_color: bool = False, **kwargs: Any) -> None:
        """Choose the output streams and the verbosity."""
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.nosplash = nosplash
        self.quiet = quiet
        self.verbose = verbose
        self.no_color = no_color

    def ok(self, m: Any, newline: bool = True, file: IO[str] | None = None) -> int:
        """Print ``m`` and return the success exit code."""
        self.say(m, newline=newline, file=file)
        return EX_OK

    def say(self, m: Any, newline: bool = True, file: IO[str] | None = None) -> None:
        """Print ``m`` to ``file`` (default stdout)."""
        print(m, file=file or self.stdout, end='\n' if newline else '', flush=True)

    def carp(self, m: Any, newline: bool = True, file: IO[str] | None = None) -> None:
        """Print ``m`` to stderr."""
        self.say(m, newline=newline, file=file or self.stderr)

    def error(self, msg: str | None = None) -> int:
        """Print ``msg`` (if any) and the usage to stderr; return the failure exit code."""
        if msg:
            self.carp(msg)
        self.usage()
        self.retcode = EX_FAILURE
        return EX_FAILURE

    def info(self, msg: Any, newline: bool = True) -> None:
        """Print ``msg`` in verbose mode only."""
        if self.verbose:
            self.note(msg, newline=newline)

    def note(self, msg: Any, newline: bool = True) -> None:
        """Print ``msg`` unless quiet."""
        if not self.quiet:
            self.say(str(msg), newline=newline)

    def usage(self) -> None:
        """Print the usage text to stderr."""
        self.carp(USAGE.format(prog_name=self.prog_name))

    def splash(self) -> None:
        """Print the version banner (unless ``--nosplash``)."""
        if not self.nosplash:
            self.note(self.colored.cyan(self.splash_text.format(**self.splash_context)))

    @property
    def colored(self) -> term.colored:
        """A colouring helper, plain when ``--no-color``."""
        return term.colored(enabled=not self.no_color)

    @property
    def prog_name(self) -> str:
        """The program name the usage shows."""
        return getattr(self, '_prog_name', 'celery multi')


class MultiTool(TermLogger):
    """The ``multi`` program: parses arguments and runs one action on a cluster."""

    MultiParser = MultiParser
    OptionParser = NamespacedOptionParser

    #: ``(option, attribute)``: flags taken out of the arguments and set on the tool.
    reserved_options: ClassVar[list[tuple[str, str]]] = [
        ('--quiet', 'quiet'), ('-q', 'quiet'), ('--verbose', 'verbose'),
        ('--no-color', 'no_color'), ('--nosplash', 'nosplash'),
    ]

    def __init__(self, env: dict[str, str] | None = None, cmd: str | None = None,
                 fh: IO[str] | None = None, stdout: IO[str] | None = None,
                 stderr: IO[str] | None = None, **kwargs: Any) -> None:
        self.env = env
        self.cmd = cmd
        self.setup_terminal(stdout or fh, stderr or fh, **kwargs)
        self.commands: dict[str, Callable[..., Any]] = {
            'start': self.start, 'show': self.show, 'stop': self.stop,
            'stopwait': self.stopwait, 'stop_verify': self.stop_verify,
            'restart': self.restart, 'kill': self.kill, 'names': self.names,
            'expand': self.expand, 'get': self.get, 'help': self.help,
        }

    def execute_from_commandline(self, argv: list[str], cmd: str | None = None) -> int:
        """Run ``argv`` (``[prog_name, action, args...]``); return the exit code."""
        argv = self._handle_reserved_options(list(argv))
        self.cmd = cmd if cmd is not None else self.cmd
        self._prog_name = os.path.basename(argv.pop(0)) if argv else 'celery multi'
        if not self.validate_arguments(argv):
            return self.error()
        return self.call_command(argv[0], argv[1:])

    def validate_arguments(self, argv: list[str]) -> bool:
        """True if ``argv`` starts with a command name."""
        return bool(argv) and argv[0][:1] != '-'

    def call_command(self, command: str, argv: list[str]) -> int:
        """Run ``command`` with ``argv``; usage and EX_USAGE for an unknown command."""
        try:
            fun = self.commands[command]
        except KeyError:
            self.error(f'Invalid command: {command}')
            return EX_USAGE
        return fun(*argv) or EX_OK

    def _handle_reserved_options(self, argv: list[str]) -> list[str]:
        for option, attribute in self.reserved_options:
            if option in argv:
                argv.remove(option)
                setattr(self, attribute, True)
        return argv

    def cluster_from_argv(self, argv: tuple[str, ...] | list[str],
                          cmd: str | None = None) -> NodeCluster:
        """Parse node names and options into a :class:`Cluster`."""
        parser = self.OptionParser(list(argv))
        parser.parse()
        cmd = cmd or self.cmd or f'-m {celery_exe("worker", "--detach")}'
        return self.Cluster(list(self.MultiParser(cmd=cmd).parse(parser)), cmd=cmd)

    def Cluster(self, nodes: list[Node], cmd: str | None = None) -> NodeCluster:
        """Return a cluster of ``nodes`` reporting through this tool."""
        callbacks = {name: getattr(self, name) for name in CLUSTER_CALLBACKS}
        return Cluster(nodes, cmd=cmd, env=self.env, **callbacks)

    @splash
    @using_cluster
    def start(self, cluster: NodeCluster) -> int:
        """Start the nodes; EX_FAILURE if any failed."""
        self.note('> Starting nodes...')
        return int(any(cluster.start()))

    @splash
    @using_cluster_and_sig
    def stop(self, cluster: NodeCluster, sig: int, **kwargs: Any) -> None:
        """Signal the nodes (``-SIG``, default TERM) without waiting."""
        return cluster.stop(sig=sig, **kwargs)

    @splash
    @using_cluster_and_sig
    def stopwait(self, cluster: NodeCluster, sig: int, **kwargs: Any) -> None:
        """Signal the nodes and wait until they are gone."""
        return cluster.stopwait(sig=sig, **kwargs)

    stop_verify = stopwait  # compat alias

    @splash
    @using_cluster_and_sig
    def restart(self, cluster: NodeCluster, sig: int, **kwargs: Any) -> int:
        """Stop each node and start it again once down; EX_FAILURE if a start failed."""
        return int(any(cluster.restart(sig=sig, **kwargs)))

    @splash
    @using_cluster
    def kill(self, cluster: NodeCluster) -> None:
        """SIGKILL the nodes."""
        return cluster.kill()

    @using_cluster
    def show(self, cluster: NodeCluster) -> int:
        """Print the command that starts each node."""
        return self.ok('\n'.join(' '.join(node.argv_with_executable) for node in cluster))

    @using_cluster
    def names(self, cluster: NodeCluster) -> int:
        """Print the node names."""
        return self.ok('\n'.join(node.name for node in cluster))

    def get(self, wanted: str, *argv: str) -> int:
        """Print the command of the node named ``wanted``; EX_FAILURE if there is none."""
        try:
            node = self.cluster_from_argv(argv).find(wanted)
        except KeyError:
            return EX_FAILURE
        return self.ok(' '.join(node.argv))

    def expand(self, template: str, *argv: str) -> int:
        """Print ``template`` expanded for each node (``%n``, ``%h``...)."""
        return self.ok('\n'.join(node.expander(template)
                                 for node in self.cluster_from_argv(argv)))

    def help(self, *argv: str) -> None:
        """Print the module documentation."""
        self.say(__doc__)

    def on_stopping_preamble(self, nodes: list[Node]) -> None:
        """Announce the stop."""
        self.note(self.colored.blue('> Stopping nodes...'))

    def on_send_signal(self, node: Node, sig: str) -> None:
        """Report the signal sent to a node being stopped."""
        self.note(f'\t> {node.name}: {sig} -> {node.pid}')

    def on_still_waiting_for(self, nodes: list[Node]) -> None:
        """Announce the nodes being waited for."""
        count = len(nodes)
        pids = ', '.join(str(node.pid) for node in nodes)
        self.note(self.colored.blue(f'> Waiting for {count} {pluralize(count, "node")} '
                                    f'-> {pids}...'), newline=False)

    def on_still_waiting_progress(self, nodes: list[Node]) -> None:
        """Show that waiting goes on."""
        self.note('.', newline=False)

    def on_still_waiting_end(self) -> None:
        """End the waiting line."""
        self.note('')

    def on_node_signal_dead(self, node: Node) -> None:
        """Report a node whose process was gone when signalled."""
        self.note(f'Could not signal {node.name} ({node.pid}): No such process')

    def on_node_start(self, node: Node) -> None:
        """Start a node's status line."""
        self.note(f'\t> {node.name}: ', newline=False)

    def on_node_restart(self, node: Node) -> None:
        """Start a restarted node's status line."""
        self.note(self.colored.blue(f'> Restarting node {node.name}: '), newline=False)

    def on_node_down(self, node: Node) -> None:
        """Report a node that is not running."""
        self.note(f'> {node.name}: {self.DOWN}')

    def on_node_shutdown_ok(self, node: Node) -> None:
        """Report a node that has stopped."""
        self.note(f'\n\t> {node.name}: {self.OK}')

    def on_node_status(self, node: Node, retval: int) -> None:
        """End a node's status line with OK or FAILED."""
        self.note(self.FAILED if retval else self.OK)

    def on_node_signal(self, node: Node, sig: str) -> None:
        """Report a signal sent to a node."""
        self.note(f'Sending {sig} signal to {node.name} ({node.pid})')

    def on_child_spawn(self, node: Node, argstr: str, env: dict[str, str] | None) -> None:
        """Show the command a node starts with (verbose only)."""
        self.info(f'  {argstr}')

    def on_child_signalled(self, node: Node, signum: int) -> None:
        """Report a start command killed by a signal."""
        self.note(f'* Child was terminated by signal {signum}')

    def on_child_failure(self, node: Node, retcode: int) -> None:
        """Report a start command that failed."""
        self.note(f'* Child terminated with exit code {retcode}')

    @property
    def FAILED(self) -> str:
        """``FAILED``, in red."""
        return str(self.colored.red('FAILED'))

    @property
    def OK(self) -> str:
        """``OK``, in green."""
        return str(self.colored.green('OK'))

    @property
    def DOWN(self) -> str:
        """``DOWN``, in magenta."""
        return str(self.colored.magenta('DOWN'))


def _pop_signal(argv: tuple[str, ...], default: int) -> tuple[tuple[str, ...], int]:
    """Take a ``-SIG`` argument out of ``argv``; return the rest and the signal."""
    sig = default
    rest = []
    for arg in argv:
        found = _signal_option(arg)
        if found is None:
            rest.append(arg)
        else:
            sig = found
    return tuple(rest), sig


def _signal_option(arg: str) -> int | None:
    """The signal ``arg`` names (``-9``, ``-KILL``, ``-SIGINT``), else None."""
    # Only a real signal name counts: ``-A`` or ``-Q`` are worker options,
    # and their values must not be taken for node names.
    if arg[:1] != '-' or arg[:2] == '--' or not arg[1:]:
        return None
    name = arg[1:]
    if name.isdigit():
        return int(name)
    if not name.isupper():
        return None
    sig = parse_signal(arg, default=-1)
    return None if sig == -1 else sig


class _MultiCommand(CeleryCommand):
    """``multi`` passes its arguments through, ``-A`` after the sub-command included."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Keep every argument for :class:`MultiTool`."""
        return click.Command.parse_args(self, ctx, args)


@click.command(cls=_MultiCommand, context_settings={
    'allow_extra_args': True, 'ignore_unknown_options': True, 'help_option_names': []})
@click.pass_context
def multi(ctx: click.Context, **kwargs: Any) -> int:
    """Start multiple worker instances."""
    tool = MultiTool(quiet=bool(ctx.obj and ctx.obj.quiet),
                     no_color=bool(ctx.obj and ctx.obj.no_color), env=dict(os.environ))
    # Global options given before `multi` (e.g. -A) are handed on to every node.
    args = sys.argv[1:]
    if 'multi' in args:
        at = args.index('multi')
        args = args[at + 1:] + args[:at]
    else:
        args = list(ctx.args)
    ctx.exit(tool.execute_from_commandline(['celery multi', *args]))
    return EX_OK


def main() -> None:
    """Run ``multi`` as a program on ``sys.argv``."""
    sys.exit(MultiTool().execute_from_commandline(sys.argv))

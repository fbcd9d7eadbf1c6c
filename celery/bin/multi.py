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
from typing import Any

import click

from celery.apps.multi import (
    Cluster,
    MultiParser,
    NamespacedOptionParser,
    Node,
    parse_signal,
)
from celery.platforms import EX_FAILURE, EX_OK, EX_USAGE

__all__ = ('MultiTool', 'multi')

# Celery's user-visible usage text, kept verbatim.
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

FLAGS = ('--nosplash', '--quiet', '-q', '--verbose', '--no-color')


class MultiTool:
    """The ``multi`` program: parses arguments and runs one action on a cluster."""

    def __init__(self, env: dict[str, str] | None = None, cmd: str | None = None,
                 fh: Any = None, stdout: Any = None, stderr: Any = None,
                 quiet: bool = False, no_color: bool = False, verbose: bool = False,
                 nosplash: bool = False) -> None:
        self.env = env
        self.cmd = cmd
        self.stdout = stdout or fh or sys.stdout
        self.stderr = stderr or sys.stderr
        self.quiet = quiet
        self.no_color = no_color
        self.verbose = verbose
        self.nosplash = nosplash
        self.prog_name = 'celery multi'
        self.commands: dict[str, Callable[..., int]] = {
            'start': self.start, 'show': self.show, 'stop': self.stop,
            'stopwait': self.stopwait, 'stop_verify': self.stopwait,
            'restart': self.restart, 'kill': self.kill, 'names': self.names,
            'expand': self.expand, 'get': self.get, 'help': self.help,
        }

    def execute_from_commandline(self, argv: list[str], cmd: str | None = None) -> int:
        """Run ``argv`` (``[action, args...]``); return the exit code."""
        argv = self._handle_flags(list(argv))
        if not argv or argv[0] not in self.commands:
            self.say(USAGE.format(prog_name=self.prog_name), err=True)
            return EX_USAGE if argv else EX_FAILURE
        action, rest = argv[0], argv[1:]
        return self.commands[action](*rest, cmd=cmd or self.cmd) or EX_OK

    def _handle_flags(self, argv: list[str]) -> list[str]:
        for flag in FLAGS:
            if flag in argv:
                argv.remove(flag)
                setattr(self, {'-q': 'quiet'}.get(flag, flag.lstrip('-').replace('-', '_')), True)
        return argv

    def cluster_from_argv(self, argv: tuple[str, ...], cmd: str | None = None) -> Cluster:
        """Parse node names and options into a :class:`Cluster`."""
        parser = NamespacedOptionParser(list(argv))
        parser.parse()
        nodes = MultiParser(cmd=cmd).parse(parser)
        return Cluster(nodes, env=self.env, on_node_start=self.on_node_start,
                       on_node_status=self.on_node_status, on_node_signal=self.on_node_signal,
                       on_node_down=self.on_node_down, on_still_waiting=self.on_still_waiting)

    def start(self, *argv: str, cmd: str | None = None) -> int:
        """Start the nodes."""
        self.splash()
        self.say('> Starting nodes...')
        codes = self.cluster_from_argv(argv, cmd).start()
        return EX_FAILURE if any(codes) else EX_OK

    def show(self, *argv: str, cmd: str | None = None) -> int:
        """Print the command that would start each node."""
        for node in self.cluster_from_argv(argv, cmd):
            self.say(' '.join(node.argv))
        return EX_OK

    def stop(self, *argv: str, cmd: str | None = None, sig: int = signal.SIGTERM) -> int:
        """Send the nodes a signal (``-SIG``, default TERM) and wait for them to exit."""
        argv, sig = self._pop_signal(argv, sig)
        self.splash()
        self.say('> Stopping nodes...')
        self.cluster_from_argv(argv, cmd).stop(sig=sig)
        return EX_OK

    def stopwait(self, *argv: str, cmd: str | None = None) -> int:
        """Stop the nodes, waiting for running tasks to finish."""
        return self.stop(*argv, cmd=cmd)

    def restart(self, *argv: str, cmd: str | None = None) -> int:
        """Stop the nodes, wait for them, then start them again."""
        argv, sig = self._pop_signal(argv, signal.SIGTERM)
        self.splash()
        cluster = self.cluster_from_argv(argv, cmd)
        self.say('> Restarting nodes...')
        cluster.stop(sig=sig)
        codes = cluster.start()
        return EX_FAILURE if any(codes) else EX_OK

    def kill(self, *argv: str, cmd: str | None = None) -> int:
        """SIGKILL the nodes."""
        self.splash()
        self.cluster_from_argv(argv, cmd).kill()
        return EX_OK

    def names(self, *argv: str, cmd: str | None = None) -> int:
        """Print the node names."""
        self.say('\n'.join(node.name for node in self.cluster_from_argv(argv, cmd)))
        return EX_OK

    def get(self, wanted: str = '', *argv: str, cmd: str | None = None) -> int:
        """Print the command of the node named ``wanted``."""
        for node in self.cluster_from_argv(argv, cmd):
            if node.name == wanted:
                self.say(' '.join(node.argv))
                return EX_OK
        self.say(f'No node named {wanted!r}.', err=True)
        return EX_FAILURE

    def expand(self, template: str = '', *argv: str, cmd: str | None = None) -> int:
        """Print ``template`` expanded for each node (``%n``, ``%h``...)."""
        for node in self.cluster_from_argv(argv, cmd):
            self.say(node.expander(template))
        return EX_OK

    def help(self, *argv: str, cmd: str | None = None) -> int:
        """Print the usage."""
        self.say(__doc__ or '')
        return EX_OK

    @staticmethod
    def _pop_signal(argv: tuple[str, ...], default: int) -> tuple[tuple[str, ...], int]:
        sig = default
        rest = []
        for arg in argv:
            found = _signal_option(arg)
            if found is None:
                rest.append(arg)
            else:
                sig = found
        return tuple(rest), sig

    def splash(self) -> None:
        """Print the version banner (unless quiet or ``--nosplash``)."""
        if not self.nosplash and not self.quiet:
            from celery import VERSION_BANNER
            self.say(f'celery multi v{VERSION_BANNER}')

    def say(self, message: str, err: bool = False) -> None:
        """Print ``message`` to stdout (stderr if ``err``) unless quiet."""
        if self.quiet and not err:
            return
        print(message, file=self.stderr if err else self.stdout, flush=True)

    def on_node_start(self, node: Node) -> None:
        """Report a node being started (verbose only)."""
        if self.verbose:
            self.say(f'\t> {node.name}: {" ".join(node.argv)}')

    def on_node_status(self, node: Node, code: int) -> None:
        """Report how a node start ended."""
        self.say(f'\t> {node.name}: {"OK" if not code else f"FAILED (exit code {code})"}',
                 err=bool(code))

    def on_node_signal(self, node: Node, signame: str) -> None:
        """Report a signal sent to a node."""
        self.say(f'\t> Sending {signame} to node {node.name} ({node.pid})')

    def on_node_down(self, node: Node) -> None:
        """Report a node that has stopped."""
        self.say(f'\t> {node.name}: DOWN')

    def on_still_waiting(self, nodes: list[Node]) -> None:
        """Report the nodes still being waited for."""
        self.say(f'> Waiting for {len(nodes)} node(s) -> {", ".join(str(n.pid) for n in nodes)}...')


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


@click.command(context_settings={'allow_extra_args': True, 'ignore_unknown_options': True,
                                 'help_option_names': []})
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
    ctx.exit(tool.execute_from_commandline(args))
    return EX_OK

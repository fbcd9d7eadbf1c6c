"""Nodes and clusters for ``celery multi``: argument parsing, commands, start and stop."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from celery.platforms import Pidfile, signals
from celery.utils.nodenames import gethostname, host_format, node_format, nodesplit

__all__ = ('Cluster', 'Node', 'MultiParser', 'NamespacedOptionParser', 'build_nodename',
           'format_opt')

#: Options of the root ``celery`` command: they must come before the sub-command.
GLOBAL_OPTIONS = ('-A', '--app', '-b', '--broker', '--result-backend', '--loader', '--config',
                  '--workdir', '-C', '--no-color', '-q', '--quiet')

DEFAULT_PIDFILE = '%n.pid'
DEFAULT_LOGFILE = '%n%I.log'


def format_opt(opt: str, value: Any) -> str:
    """Return ``--opt=value``, ``-o value`` or a bare flag when ``value`` is empty."""
    if not value:
        return opt
    if opt.startswith('--'):
        return f'{opt}={value}'
    return f'{opt} {value}'


def build_nodename(name: str, prefix: str, suffix: str) -> tuple[str, str, str]:
    """Return ``(nodename, shortname, hostname)`` for a node spec like ``w1`` or ``w1@host``."""
    shortname, hostname = nodesplit(host_format(name))
    if shortname is None:
        shortname, hostname = hostname, suffix or gethostname()
        return f'{prefix}{shortname}@{hostname}', shortname, hostname
    return f'{shortname}@{hostname}', shortname, hostname


class NamespacedOptionParser:
    """Parse ``multi`` arguments: positional names, options and ``-opt:ns value`` overrides."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.options: OrderedDict[str, Any] = OrderedDict()
        self.values: list[str] = []
        self.passthrough = ''
        self.namespaces: OrderedDict[str, OrderedDict[str, Any]] = OrderedDict()

    def parse(self) -> None:
        """Fill :attr:`options`, :attr:`values`, :attr:`namespaces` and :attr:`passthrough`."""
        rargs = list(self.args)
        pos = 0
        while pos < len(rargs):
            arg = rargs[pos]
            if arg == '--':
                self.passthrough = ' '.join(rargs[pos:])
                break
            if arg[:1] == '-':
                if arg[:2] == '--':
                    self.process_long_opt(arg[2:])
                else:
                    value = None
                    if len(rargs) > pos + 1 and rargs[pos + 1][:1] != '-':
                        value = rargs[pos + 1]
                        pos += 1
                    self.process_short_opt(arg[1:], value)
            else:
                self.values.append(arg)
            pos += 1

    def process_long_opt(self, arg: str, value: Any = None) -> None:
        """Record ``--name=value`` (or a flag)."""
        if '=' in arg:
            arg, value = arg.split('=', 1)
        self.add_option(arg, value, short=False)

    def process_short_opt(self, arg: str, value: Any = None) -> None:
        """Record ``-n value``."""
        self.add_option(arg, value, short=True)

    def optmerge(self, ns: str, defaults: dict[str, Any] | None = None) -> OrderedDict[str, Any]:
        """Return the options for namespace ``ns`` layered over ``defaults``."""
        merged = OrderedDict(self.options if defaults is None else defaults)
        merged.update(self.namespaces.get(ns, {}))
        return merged

    def add_option(self, name: str, value: Any, short: bool = False, ns: str | None = None) -> None:
        """Store an option, routed to a namespace for ``name:ns``."""
        prefix = '-' if short else '--'
        dest = self.options
        if ':' in name:
            name, ns = name.split(':', 1)
            dest = self.namespaces.setdefault(ns, OrderedDict())
        dest[prefix + name] = value


class Node:
    """One worker node: its name, command line and pid/log files."""

    def __init__(self, name: str, cmd: str | None = None, append: str | None = None,
                 options: dict[str, Any] | None = None, extra_args: str = '') -> None:
        self.name = name
        self.cmd = cmd or f'{shlex.quote(sys.executable)} -m celery worker --detach'
        self.append = append
        self.extra_args = extra_args
        self.options = self._annotate_with_default_opts(dict(options or {}))
        self.expander = self._prepare_expander()
        self.argv = self._prepare_argv()
        self._pid: int | None = None

    def _annotate_with_default_opts(self, options: dict[str, Any]) -> dict[str, Any]:
        options['-n'] = self.name
        self._setdefaultopt(options, ['--pidfile', '-p'], DEFAULT_PIDFILE)
        self._setdefaultopt(options, ['--logfile', '-f'], DEFAULT_LOGFILE)
        self._setdefaultopt(options, ['--executable'], sys.executable)
        return options

    @staticmethod
    def _setdefaultopt(options: dict[str, Any], alternatives: list[str], value: str) -> str:
        for opt in alternatives:
            if opt in options:
                return options[opt]
        options[alternatives[0]] = value
        return value

    def _prepare_expander(self) -> Callable[[str], str]:
        shortname, hostname = self.name.split('@', 1)
        # %i/%I stay for the worker: they expand per pool process.
        return partial(node_format, name=self.name, N=shortname, d=hostname, h=self.name,
                       i='%i', I='%I')

    def _prepare_argv(self) -> tuple[str, ...]:
        cmd = self.expander(self.cmd).split(' ')
        insert_at = cmd.index('celery') + 1 if 'celery' in cmd else len(cmd)
        options = dict(self.options)
        for opt in list(options):
            if opt in GLOBAL_OPTIONS:
                cmd.insert(insert_at, format_opt(opt, self.expander(options.pop(opt) or '')))
        argv = [' '.join(cmd), *(format_opt(opt, self.expander(value or ''))
                                  for opt, value in options.items())]
        if self.extra_args:
            argv.append(self.extra_args)
        if self.append:
            argv.append(self.expander(self.append))
        return tuple(argv)

    @property
    def argv_with_executable(self) -> list[str]:
        """The command split into arguments, ready for :func:`subprocess.run`."""
        return shlex.split(' '.join(self.argv))

    def start(self, env: dict[str, str] | None = None) -> int:
        """Run the (detaching) command and return its exit code."""
        return subprocess.run(self.argv_with_executable, env=env).returncode

    def getopt(self, *alt: str) -> Any:
        """Return the first of the options ``alt`` that is set; KeyError if none."""
        for opt in alt:
            if opt in self.options:
                return self.options[opt]
        raise KeyError(alt[0])

    @property
    def pidfile(self) -> str:
        return self.expander(self.getopt('--pidfile', '-p'))

    @property
    def logfile(self) -> str:
        return self.expander(self.getopt('--logfile', '-f'))

    @property
    def pid(self) -> int | None:
        """The pid in the node's pidfile, or None when it has none (or a garbled one)."""
        if self._pid is not None:
            return self._pid
        try:
            return Pidfile(self.pidfile).read_pid()
        except ValueError:
            return None

    @pid.setter
    def pid(self, value: int | None) -> None:
        self._pid = value

    def alive(self) -> bool:
        """Return True if the node's process is running."""
        pid = self.pid
        if not pid:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def send(self, sig: int) -> bool:
        """Send ``sig`` to the node; False if it isn't running (its stale pidfile is removed)."""
        pid = self.pid
        if not pid:
            return False
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            Pidfile(self.pidfile).remove()
            return False
        return True

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.name}>'


class MultiParser:
    """Turn ``multi`` arguments into :class:`Node` objects."""

    def __init__(self, cmd: str | None = None, append: str = '', prefix: str = '',
                 suffix: str = '', range_prefix: str = 'celery') -> None:
        self.cmd = cmd
        self.append = append
        self.prefix = prefix
        self.suffix = suffix
        self.range_prefix = range_prefix

    def parse(self, p: NamespacedOptionParser) -> Iterator[Node]:
        """Yield a node per name (or ``range_prefix1..N`` for a count)."""
        names = p.values
        options = dict(p.options)
        ranges = len(names) == 1 and names[0].isdigit()
        prefix = self.prefix
        cmd = options.pop('--cmd', self.cmd)
        append = options.pop('--append', self.append)
        hostname = options.pop('--hostname', options.pop('-n', gethostname()))
        prefix = options.pop('--prefix', prefix) or ''
        suffix = options.pop('--suffix', self.suffix) or hostname
        range_prefix = options.pop('--range-prefix', '') or self.range_prefix
        if ranges:
            names = [f'{range_prefix}{i}' for i in range(1, int(names[0]) + 1)]
            self._update_ns_ranges(p, range_prefix)
        p.options = options
        for index, name in enumerate(names or ['celery'], start=1):
            nodename, shortname, _ = build_nodename(name, prefix, suffix)
            node_options = p.optmerge(shortname, options)
            for ns in (nodename, name, str(index)):
                node_options.update(p.namespaces.get(ns, {}))
            yield Node(nodename, cmd, append, node_options, p.passthrough)

    def _update_ns_ranges(self, p: NamespacedOptionParser, range_prefix: str) -> None:
        for ns, opts in list(p.namespaces.items()):
            if ',' in ns or ('-' in ns and not ns.startswith(range_prefix)):
                del p.namespaces[ns]
                for index in _parse_ns_range(ns):
                    p.namespaces.setdefault(f'{range_prefix}{index}', OrderedDict()).update(opts)


def _parse_ns_range(ns: str) -> list[str]:
    found: list[str] = []
    for space in ns.split(','):
        start, sep, end = space.partition('-')
        if sep and start.isdigit() and end.isdigit():
            found.extend(str(n) for n in range(int(start), int(end) + 1))
        else:
            found.append(space)
    return found


class Cluster:
    """A group of nodes started and stopped together."""

    def __init__(self, nodes: Iterable[Node], env: dict[str, str] | None = None,
                 on_node_start: Callable[[Node], Any] | None = None,
                 on_node_status: Callable[[Node, int], Any] | None = None,
                 on_node_signal: Callable[[Node, str], Any] | None = None,
                 on_node_down: Callable[[Node], Any] | None = None,
                 on_still_waiting: Callable[[list[Node]], Any] | None = None) -> None:
        self.nodes = list(nodes)
        self.env = env
        self.on_node_start = on_node_start or _noop
        self.on_node_status = on_node_status or _noop
        self.on_node_signal = on_node_signal or _noop
        self.on_node_down = on_node_down or _noop
        self.on_still_waiting = on_still_waiting or _noop

    def start(self) -> list[int]:
        """Start every node; return their exit codes."""
        codes = []
        for node in self.nodes:
            self.on_node_start(node)
            code = node.start(self.env)
            self.on_node_status(node, code)
            codes.append(code)
        return codes

    def send_all(self, sig: int) -> list[Node]:
        """Signal every running node; return the ones that were running."""
        signalled = []
        for node in self.nodes:
            if node.send(sig):
                self.on_node_signal(node, signals_name(sig))
                signalled.append(node)
            else:
                self.on_node_down(node)
        return signalled

    def stop(self, sig: int = signal.SIGTERM, timeout: float | None = None,
             interval: float = 0.5) -> bool:
        """Signal every node and wait until their processes are gone (or ``timeout``)."""
        pending = self.send_all(sig)
        deadline = None if timeout is None else time.monotonic() + timeout
        last_report = time.monotonic()
        while pending:
            pending = [node for node in pending if node.alive() or self._report_down(node)]
            if not pending:
                break
            if deadline is not None and time.monotonic() > deadline:
                return False
            if time.monotonic() - last_report > 5:
                self.on_still_waiting(pending)
                last_report = time.monotonic()
            time.sleep(interval)
        return True

    def _report_down(self, node: Node) -> bool:
        self.on_node_down(node)
        return False

    def kill(self) -> list[Node]:
        """SIGKILL every node and remove their pidfiles."""
        killed = self.send_all(signal.SIGKILL)
        for node in killed:
            Pidfile(node.pidfile).remove()
        return killed

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)


def signals_name(sig: int) -> str:
    """Return ``SIGTERM`` for 15."""
    return signal.Signals(sig).name


def parse_signal(arg: str, default: int = signal.SIGTERM) -> int:
    """Parse ``-9``, ``-KILL`` or ``-SIGKILL``; ``default`` for anything else."""
    name = arg.lstrip('-')
    if name.isdigit():
        return int(name)
    try:
        return signals.signum(name.upper())
    except (AttributeError, TypeError):
        return default


def _noop(*args: Any, **kwargs: Any) -> None:
    return None

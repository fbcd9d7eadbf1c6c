"""Nodes and clusters for ``celery multi``: argument parsing, commands, start and stop."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections import OrderedDict, UserList
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any, ClassVar, TypeVar

from celery.platforms import Pidfile, signal_name, signals
from celery.utils.nodenames import gethostname, host_format, node_format, nodesplit
from celery.utils.saferepr import saferepr

__all__ = ('Cluster', 'Node')

#: The program that runs a worker: ``python -m celery``'s module name.
CELERY_EXE = 'celery'

#: Windows has no POSIX shell quoting: arguments are split the Windows way there.
IS_WINDOWS = sys.platform == 'win32'

#: Options of the root ``celery`` command: they must come before the sub-command.
GLOBAL_OPTIONS = ('-A', '--app', '-b', '--broker', '--result-backend', '--loader', '--config',
                  '--workdir', '-C', '--no-color', '-q', '--quiet')

DEFAULT_PIDFILE = '%n.pid'
DEFAULT_LOGFILE = '%n%I.log'


def celery_exe(*args: str) -> str:
    """Return the ``celery`` command line with ``args`` (``celery worker --detach``)."""
    return ' '.join((CELERY_EXE, *args))


#: What a callback returns.
_R = TypeVar('_R')


def maybe_call(fun: Callable[..., _R] | None, *args: Any, **kwargs: Any) -> _R | None:
    """Call ``fun`` with the arguments unless it is None (an unset callback)."""
    if fun is not None:
        return fun(*args, **kwargs)
    return None


def build_expander(nodename: str, shortname: str, hostname: str) -> Callable[[str], str]:
    """Return a function expanding ``%n``, ``%h``, ``%d``, ``%N`` for one node."""
    # %i/%I stay for the worker: they expand per pool process.
    return partial(node_format, name=nodename, N=shortname, d=hostname, h=nodename,
                   i='%i', I='%I')


def _kwargs_to_options(kwargs: dict[str, Any]) -> dict[str, str]:
    """``concurrency=4, c=2`` → ``{'--concurrency': '4', '-c': '2'}``."""
    return {(f'--{key}' if len(key) > 1 else f'-{key}').replace('_', '-'): f'{value}'
            for key, value in kwargs.items()}


def format_opt(opt: str, value: object) -> str:
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
        self.options: OrderedDict[str, str | None] = OrderedDict()
        self.values: list[str] = []
        self.passthrough = ''
        self.namespaces: OrderedDict[str, OrderedDict[str, str | None]] = OrderedDict()

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

    def process_long_opt(self, arg: str, value: str | None = None) -> None:
        """Record ``--name=value`` (or a flag)."""
        if '=' in arg:
            arg, value = arg.split('=', 1)
        self.add_option(arg, value, short=False)

    def process_short_opt(self, arg: str, value: str | None = None) -> None:
        """Record ``-n value``."""
        self.add_option(arg, value, short=True)

    def optmerge(self, ns: str, defaults: Mapping[str, str | None] | None = None
                 ) -> OrderedDict[str, str | None]:
        """Return the options for namespace ``ns`` layered over ``defaults``."""
        merged = OrderedDict(self.options if defaults is None else defaults)
        merged.update(self.namespaces.get(ns, {}))
        return merged

    def add_option(self, name: str, value: str | None, short: bool = False,
                   ns: str | None = None) -> None:
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
                 options: Mapping[str, str | None] | None = None,
                 extra_args: str | None = None) -> None:
        self.name = name
        # Run through the Python of ``--executable``: ``python -m celery worker --detach``.
        self.cmd = cmd or f'-m {celery_exe("worker", "--detach")}'
        self.append = append
        self.extra_args = extra_args or ''
        self.options: dict[str, str | None] = self._annotate_with_default_opts(
            OrderedDict(options or {}))
        self.expander = self._prepare_expander()
        self.argv = self._prepare_argv()
        self._pid: int | None = None

    @classmethod
    def from_kwargs(cls, name: str, **kwargs: Any) -> Node:
        """Return a node whose options are ``kwargs`` (``concurrency=4`` → ``--concurrency=4``)."""
        return cls(name, options=_kwargs_to_options(kwargs))

    def _annotate_with_default_opts(self, options: dict[str, str | None]
                                    ) -> dict[str, str | None]:
        options['-n'] = self.name
        self._setdefaultopt(options, ['--pidfile', '-p'], DEFAULT_PIDFILE)
        self._setdefaultopt(options, ['--logfile', '-f'], DEFAULT_LOGFILE)
        self._setdefaultopt(options, ['--executable'], sys.executable)
        return options

    @staticmethod
    def _setdefaultopt(options: dict[str, str | None], alternatives: list[str],
                       value: str) -> str | None:
        for opt in alternatives:
            if opt in options:
                return options[opt]
        options[alternatives[0]] = value
        return value

    def _prepare_expander(self) -> Callable[[str], str]:
        shortname, hostname = self.name.split('@', 1)
        return build_expander(self.name, shortname, hostname)

    def _prepare_argv(self) -> tuple[str, ...]:
        cmd = self.expander(self.cmd).split(' ')
        insert_at = cmd.index(CELERY_EXE) + 1 if CELERY_EXE in cmd else len(cmd)
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
    def executable(self) -> str:
        """The Python program that runs the node (``--executable``, default this one)."""
        return self.options['--executable'] or sys.executable

    @property
    def argv_with_executable(self) -> tuple[str, ...]:
        """The command line with the Python program first, as ``celery multi show`` prints it."""
        program = self._program()
        return (program, *self.argv) if program else self.argv

    def _program(self) -> str:
        # A ``--cmd`` naming a program (``celery worker --detach``) runs as is;
        # only Python arguments (``-m celery ...``) need the interpreter in front.
        return self.executable if self.argv[0].startswith('-') else ''

    def prepare_argv(self, argv: Iterable[str], path: str) -> list[str]:
        """Split ``path`` plus ``argv`` into the argument list a process is started with."""
        return shlex.split(' '.join([path, *argv]).strip(), posix=not IS_WINDOWS)

    def start(self, env: dict[str, str] | None = None, **kwargs: Any) -> int:
        """Run the (detaching) command; return its exit code or the number of the killing signal.

        Keyword arguments are the callbacks ``on_spawn(node, argstr=, env=)``,
        ``on_signalled(node, signum)`` and ``on_failure(node, retcode)``.
        """
        argv = self.prepare_argv(self.argv, self._program())
        maybe_call(kwargs.get('on_spawn'), self, argstr=' '.join(argv), env=env)
        retcode = subprocess.run(argv, env=env, check=False).returncode
        return self.handle_process_exit(retcode, kwargs.get('on_signalled'),
                                        kwargs.get('on_failure'))

    def handle_process_exit(self, retcode: int, on_signalled: Callable[..., Any] | None = None,
                            on_failure: Callable[..., Any] | None = None) -> int:
        """Report a start command's end; a negative ``retcode`` means killed by that signal."""
        if retcode < 0:
            maybe_call(on_signalled, self, -retcode)
            return -retcode
        if retcode > 0:
            maybe_call(on_failure, self, retcode)
        return retcode

    def getopt(self, *alt: str) -> str | None:
        """Return the first of the options ``alt`` that is set; KeyError if none."""
        for opt in alt:
            if opt in self.options:
                return self.options[opt]
        raise KeyError(alt[0])

    @property
    def pidfile(self) -> str:
        """The node's pidfile path, expanded."""
        # A bare ``--pidfile`` flag has no value: the default path then.
        return self.expander(self.getopt('--pidfile', '-p') or DEFAULT_PIDFILE)

    @property
    def logfile(self) -> str:
        """The node's logfile path, expanded (``%I`` is left for the worker)."""
        return self.expander(self.getopt('--logfile', '-f') or DEFAULT_LOGFILE)

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

    def send(self, sig: int, on_error: Callable[[Node], Any] | None = None) -> bool:
        """Send ``sig`` to the node; False (and ``on_error(node)``) if it isn't running."""
        pid = self.pid
        if pid:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                # The process is gone: its pidfile is stale.
                Pidfile(self.pidfile).remove()
            else:
                return True
        maybe_call(on_error, self)
        return False

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {self.name}>'


#: :class:`Node` under a name ``MultiParser.Node`` does not shadow.
AnyNode = Node


class MultiParser:
    """Turn ``multi`` arguments into :class:`Node` objects."""

    #: The class of the nodes made (subclasses may replace it).
    Node: ClassVar[type[AnyNode]] = Node

    def __init__(self, cmd: str = celery_exe('worker'), append: str = '', prefix: str = '',
                 suffix: str = '', range_prefix: str = 'celery') -> None:
        self.cmd = cmd
        self.append = append
        self.prefix = prefix
        self.suffix = suffix
        self.range_prefix = range_prefix

    def parse(self, p: NamespacedOptionParser) -> Iterator[AnyNode]:
        """Yield a node per name (or ``range_prefix1..N`` for a count)."""
        names = p.values
        options = dict(p.options)
        ranges = len(names) == 1 and names[0].isdigit()
        prefix = self.prefix
        cmd = options.pop('--cmd', self.cmd)
        append = options.pop('--append', self.append)
        hostname = options.pop('--hostname', options.pop('-n', None)) or gethostname()
        prefix = options.pop('--prefix', prefix) or ''
        suffix = options.pop('--suffix', self.suffix) or hostname
        range_prefix = options.pop('--range-prefix', '') or self.range_prefix
        if ranges:
            names = [f'{range_prefix}{i}' for i in range(1, int(names[0]) + 1)]
            self._update_ns_ranges(p, range_prefix)
        p.options = OrderedDict(options)
        for index, name in enumerate(names or ['celery'], start=1):
            nodename, shortname, _ = build_nodename(name, prefix, suffix)
            node_options = p.optmerge(shortname, options)
            for ns in (nodename, name, str(index)):
                node_options.update(p.namespaces.get(ns, {}))
            yield self.Node(nodename, cmd, append, node_options, p.passthrough)

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


#: The ``on_*`` callbacks a :class:`Cluster` reports through.
CLUSTER_CALLBACKS = (
    'on_node_start', 'on_child_spawn', 'on_child_signalled', 'on_child_failure',
    'on_node_status', 'on_node_restart', 'on_stopping_preamble', 'on_send_signal',
    'on_node_signal', 'on_node_signal_dead', 'on_node_down', 'on_node_shutdown_ok',
    'on_still_waiting_for', 'on_still_waiting_progress', 'on_still_waiting_end',
)


class Cluster(UserList[Node]):
    """A group of nodes started and stopped together, reporting through ``on_*`` callbacks."""

    def __init__(self, nodes: Iterable[Node], cmd: str | None = None,
                 env: dict[str, str] | None = None,
                 on_stopping_preamble: Callable[..., Any] | None = None,
                 on_send_signal: Callable[..., Any] | None = None,
                 on_still_waiting_for: Callable[..., Any] | None = None,
                 on_still_waiting_progress: Callable[..., Any] | None = None,
                 on_still_waiting_end: Callable[..., Any] | None = None,
                 on_node_start: Callable[..., Any] | None = None,
                 on_node_restart: Callable[..., Any] | None = None,
                 on_node_shutdown_ok: Callable[..., Any] | None = None,
                 on_node_status: Callable[..., Any] | None = None,
                 on_node_signal: Callable[..., Any] | None = None,
                 on_node_signal_dead: Callable[..., Any] | None = None,
                 on_node_down: Callable[..., Any] | None = None,
                 on_child_spawn: Callable[..., Any] | None = None,
                 on_child_signalled: Callable[..., Any] | None = None,
                 on_child_failure: Callable[..., Any] | None = None) -> None:
        self.nodes = list(nodes)
        self.cmd = cmd or celery_exe('worker')
        self.env = env
        # Starting: one line per node, the child's failure reported inside it.
        self.on_node_start = on_node_start
        self.on_child_spawn = on_child_spawn
        self.on_child_signalled = on_child_signalled
        self.on_child_failure = on_child_failure
        self.on_node_status = on_node_status
        self.on_node_restart = on_node_restart
        # Stopping and signalling.
        self.on_stopping_preamble = on_stopping_preamble
        self.on_send_signal = on_send_signal
        self.on_node_signal = on_node_signal
        self.on_node_signal_dead = on_node_signal_dead
        self.on_node_down = on_node_down
        self.on_node_shutdown_ok = on_node_shutdown_ok
        # Waiting for stopped nodes to go away.
        self.on_still_waiting_for = on_still_waiting_for
        self.on_still_waiting_progress = on_still_waiting_progress
        self.on_still_waiting_end = on_still_waiting_end

    # UserList keeps its items in ``data``: here that is the node list itself.
    @property
    def data(self) -> list[Node]:  # type: ignore[override]
        """The nodes: what the list operations act on."""
        return self.nodes

    def find(self, name: str) -> Node:
        """Return the node named ``name``; KeyError if there is none."""
        for node in self:
            if node.name == name:
                return node
        raise KeyError(name)

    def start(self) -> list[int]:
        """Start every node; return their exit codes."""
        return [self.start_node(node) for node in self]

    def start_node(self, node: Node) -> int:
        """Start one node, reporting it; return its exit code."""
        maybe_call(self.on_node_start, node)
        retcode = node.start(self.env, on_spawn=self.on_child_spawn,
                             on_signalled=self.on_child_signalled,
                             on_failure=self.on_child_failure)
        maybe_call(self.on_node_status, node, retcode)
        return retcode

    def getpids(self, on_down: Callable[[Node], Any] | None = None) -> Iterator[Node]:
        """Yield the nodes that have a pid; call ``on_down(node)`` for the others."""
        for node in self:
            if node.pid:
                yield node
            else:
                maybe_call(on_down, node)

    def send_all(self, sig: int) -> None:
        """Send ``sig`` to every node that has a pid."""
        for node in self.getpids(on_down=self.on_node_down):
            if node.send(sig, self.on_node_signal_dead):
                maybe_call(self.on_node_signal, node, signal_name(sig))

    def kill(self) -> None:
        """SIGKILL every node."""
        self.send_all(signal.SIGKILL)

    def stop(self, retry: float | None = None, callback: Callable[[Node], Any] | None = None,
             sig: int = signal.SIGTERM) -> None:
        """Signal the nodes; with ``retry`` (seconds), wait until they are gone.

        ``callback(node)`` is called for each node found down (default ``on_node_down``).
        """
        self._stop_nodes(retry=retry, on_down=callback, sig=sig)

    def stopwait(self, retry: float = 2, callback: Callable[[Node], Any] | None = None,
                 sig: int = signal.SIGTERM) -> None:
        """Signal the nodes and wait until they are gone, checking every ``retry`` seconds."""
        self._stop_nodes(retry=retry, on_down=callback, sig=sig)

    def restart(self, sig: int = signal.SIGTERM) -> list[int]:
        """Stop every node, starting each again once it is down; return the exit codes."""
        retcodes: list[int] = []

        def start_again(node: Node) -> None:
            maybe_call(self.on_node_restart, node)
            retcodes.append(self.start_node(node))

        self._stop_nodes(retry=2, on_down=start_again, sig=sig)
        return retcodes

    def _stop_nodes(self, retry: float | None, on_down: Callable[[Node], Any] | None,
                    sig: int) -> None:
        on_down = on_down if on_down is not None else self.on_node_down
        nodes = list(self.getpids(on_down=on_down))
        if nodes:
            for node in self.shutdown_nodes(nodes, sig=sig, retry=retry):
                maybe_call(on_down, node)

    def shutdown_nodes(self, nodes: list[Node], sig: int = signal.SIGTERM,
                       retry: float | None = None) -> Iterator[Node]:
        """Signal ``nodes``; yield each one found down (waiting for them when ``retry``)."""
        maybe_call(self.on_stopping_preamble, nodes)
        pending = []
        for node in nodes:
            maybe_call(self.on_send_signal, node, signal_name(sig))
            if node.send(sig, self.on_node_signal_dead):
                pending.append(node)
            else:
                yield node
        if not retry or not pending:
            return
        maybe_call(self.on_still_waiting_for, pending)
        while pending:
            time.sleep(float(retry))
            maybe_call(self.on_still_waiting_progress, pending)
            for node in [node for node in pending if not node.alive()]:
                pending.remove(node)
                maybe_call(self.on_node_shutdown_ok, node)
                yield node
        maybe_call(self.on_still_waiting_end)

    def shutdown(self, sig: int = signal.SIGTERM, timeout: float | None = None,
                 interval: float = 0.5) -> bool:
        """Signal every node and wait for their processes to end; False if ``timeout`` passed."""
        nodes = list(self.getpids(on_down=self.on_node_down))
        pending = [node for node in nodes if node.send(sig, self.on_node_signal_dead)]
        deadline = None if timeout is None else time.monotonic() + timeout
        while pending:
            pending = [node for node in pending if node.alive()]
            if pending and deadline is not None and time.monotonic() > deadline:
                return False
            if pending:
                time.sleep(interval)
        return True

    def __repr__(self) -> str:
        return f'<{type(self).__name__}: {saferepr([node.name for node in self])}>'


def parse_signal(arg: str, default: int = signal.SIGTERM) -> int:
    """Parse ``-9``, ``-KILL`` or ``-SIGKILL``; ``default`` for anything else."""
    name = arg.lstrip('-')
    if name.isdigit():
        return int(name)
    try:
        return signals.signum(name.upper())
    except (AttributeError, TypeError):
        return default


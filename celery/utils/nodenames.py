"""Worker node names (``name@host``) and ``%h``-style expansion."""
from __future__ import annotations

import os
import socket
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from celery.utils.text import simple_format

if TYPE_CHECKING:
    from kombu import Exchange, Queue

__all__ = (
    'NODENAME_DEFAULT',
    'NODENAME_SEP',
    'anon_nodename',
    'default_nodename',
    'gethostname',
    'host_format',
    'node_format',
    'nodename',
    'nodesplit',
    'worker_direct',
)

#: Separator between the name and the host in a nodename.
NODENAME_SEP = '@'

#: Name part used when a nodename has none.
NODENAME_DEFAULT = 'celery'

#: Queue every worker consumes from for tasks routed to that worker only.
WORKER_DIRECT_QUEUE_FORMAT = '{hostname}.dq2'
WORKER_DIRECT_EXCHANGE_NAME = 'C.dq2'

#: The host name of this machine, looked up once.
gethostname = cache(socket.gethostname)


def worker_direct(hostname: str | Queue) -> Queue:
    """Return the :class:`kombu.Queue` that reaches only the worker ``hostname``."""
    from kombu import Queue
    if isinstance(hostname, Queue):
        return hostname
    return Queue(
        WORKER_DIRECT_QUEUE_FORMAT.format(hostname=hostname),
        _worker_direct_exchange(),
        hostname,
    )


@cache
def _worker_direct_exchange() -> Exchange:
    from kombu import Exchange
    return Exchange(WORKER_DIRECT_EXCHANGE_NAME)


def nodename(name: str, hostname: str) -> str:
    """Join ``name`` and ``hostname`` into a nodename."""
    return NODENAME_SEP.join((name, hostname))


def anon_nodename(hostname: str | None = None, prefix: str = 'gen') -> str:
    """Return the nodename of a process that isn't a worker: ``gen<pid>@<host>``."""
    return nodename(f'{prefix}{os.getpid()}', hostname or gethostname())


def nodesplit(name: str) -> tuple[str | None, str]:
    """Split a nodename into ``(name, host)``; ``name`` is None when absent."""
    parts = name.split(NODENAME_SEP, 1)
    if len(parts) == 1:
        return None, parts[0]
    return parts[0], parts[1]


def default_nodename(hostname: str | None) -> str:
    """Complete a partial nodename with the default name and this host."""
    name, host = nodesplit(hostname or '')
    return nodename(name or NODENAME_DEFAULT, host or gethostname())


def node_format(s: str, name: str, **extra: Any) -> str:
    """Expand ``%h``-style keys in ``s`` for the nodename ``name``."""
    shortname, host = nodesplit(name)
    return host_format(s, host, shortname or NODENAME_DEFAULT, p=name, **extra)


def _fmt_process_index(prefix: str = '', default: str = '0') -> str:
    from celery.utils.log import current_process_index
    index = current_process_index()
    return f'{prefix}{index}' if index else default


_fmt_process_index_with_prefix = partial(_fmt_process_index, '-', '')


def host_format(s: str, host: str | None = None, name: str | None = None,
                **extra: Any) -> str:
    """Expand ``%h`` (host), ``%n`` (name), ``%d`` (domain), ``%i``/``%I``
    (pool process index, bare / with separator), ``%p`` (nodename) and ``%%``.
    """
    host = host or gethostname()
    short_host, _, domain = host.partition('.')
    name = name or short_host
    keys = {
        'h': host, 'n': name, 'd': domain, 'p': nodename(name, host),
        'i': _fmt_process_index, 'I': _fmt_process_index_with_prefix,
        **extra,
    }
    return simple_format(s, keys)

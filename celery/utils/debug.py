"""Memory sampling helpers for debugging leaks (``celery worker`` with ``memdump``)."""
from __future__ import annotations

import os
import resource
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from celery.platforms.signal_handlers import signals
from celery.utils.text import pluralize

if TYPE_CHECKING:
    import psutil

__all__ = (
    'blockdetection',
    'cry',
    'humanbytes',
    'mem_rss',
    'memdump',
    'ps',
    'sample',
    'sample_mem',
)

_mem_sample: list[str] = []


def _on_blocking(signum: int, frame: Any) -> None:
    import inspect
    raise RuntimeError(f'Blocking detection timed-out at: {inspect.getframeinfo(frame)}')


@contextmanager
def blockdetection(timeout: float) -> Iterator[None]:
    """Raise :exc:`RuntimeError` if the block takes more than ``timeout`` seconds."""
    if not timeout:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        # Only the main thread receives signals: an alarm without our
        # handler would end the process.
        raise ValueError('blockdetection only works in the main thread')
    old_handler = signals['ALRM']
    signals['ALRM'] = _on_blocking
    old_timer = signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, *old_timer)
        signals['ALRM'] = old_handler


def sample_mem() -> str:
    """Record the current memory use (see :func:`memdump`) and return it."""
    current = mem_rss()
    _mem_sample.append(current)
    return current


def _memdump(samples: int = 10) -> tuple[Sequence[str], str]:
    prev = list(sample(_mem_sample, samples)) if len(_mem_sample) > samples else list(_mem_sample)
    _mem_sample.clear()
    return prev, mem_rss()


def memdump(samples: int = 10, file: IO[str] | None = None) -> None:
    """Print recorded memory samples and the current use (also after a GC)."""
    say = partial(print, file=file or sys.stdout)
    if ps() is None and not _proc_status_rss():
        say('- rss: (not available on this platform)')
        return
    prev, after_collect = _memdump(samples)
    if prev:
        say(f'- rss (sample, {len(prev)} {pluralize(len(prev), "sample")}):')
        for mem in prev:
            say(f'-    > {mem},')
    import gc
    gc.collect()
    say(f'- rss (end): {after_collect}.')
    say(f'- gc: {len(gc.garbage)} uncollectable.')


def sample(x: Sequence[Any], n: int, k: int = 0) -> Iterator[Any]:
    """Yield ``n`` items of ``x`` spread evenly, starting at index ``k``."""
    stride = len(x) // n
    for step in range(n):
        yield x[k + step * stride]


def hfloat(f: float, p: int = 5) -> str:
    """Format ``f`` as an int if it is one, else with ``p`` significant digits."""
    i = int(f)
    return str(i) if i == f else f'{f:.{p}}'


# Celery's table of byte units (public as ``UNITS``), largest first.
UNITS = (
    (2 ** 40.0, 'TB'),
    (2 ** 30.0, 'GB'),
    (2 ** 20.0, 'MB'),
    (2 ** 10.0, 'KB'),
    (0.0, 'b'),
)


def humanbytes(s: float) -> str:
    """Format a number of bytes with a unit (``'1.5MB'``)."""
    return next(f'{hfloat(s / div if div else s)}{unit}' for div, unit in UNITS if s >= div)


def _proc_status_rss() -> int | None:
    try:
        with open('/proc/self/status') as fh:
            for line in fh:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def mem_rss() -> str:
    """Return this process's resident memory size, human readable."""
    process = ps()
    if process is not None:
        return humanbytes(process.memory_info().rss)
    rss = _proc_status_rss()
    if rss is None:
        # ru_maxrss is the peak, in KiB on Linux: the best left to report.
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return humanbytes(rss)


def ps() -> psutil.Process | None:
    """Return a :class:`psutil.Process` for this process, or None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process(os.getpid())


def cry(out: IO[str] | None = None, sepchr: str = '=', seplen: int = 49) -> str:
    """Return the current stack of every thread as text (also written to ``out``)."""
    import threading
    import traceback
    frames = sys._current_frames()
    lines = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident) if thread.ident is not None else None
        if frame is None:
            continue
        lines.append(f'{thread.name}\n{sepchr * seplen}\n')
        lines.extend(traceback.format_stack(frame))
        lines.append('\n')
    text = ''.join(lines)
    if out is not None:
        out.write(text)
    return text

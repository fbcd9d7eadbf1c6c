"""Signal handlers by name: ``signals['INT'] = handler``."""
from __future__ import annotations

import ctypes
import ctypes.util
import numbers
import signal as _signal
import sys
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any, TypeAlias

#: What :func:`signal.signal` takes and :func:`signal.getsignal` returns.
SignalHandler: TypeAlias = 'Callable[[int, FrameType | None], Any] | int | _signal.Handlers | None'

__all__ = ('Signals', 'signals', 'signal_name', 'SIGNAMES', 'SIGMAP', 'set_pdeathsig')


#: Names of the signals this platform has (``SIGINT``...; no ``SIG_DFL``-like names).
SIGNAMES = {name for name in dir(_signal) if name.startswith('SIG') and '_' not in name}
#: Signal number to name (aliases such as ``SIGIOT``/``SIGABRT`` keep one name).
SIGMAP = {getattr(_signal, name): name for name in sorted(SIGNAMES)}

#: prctl(2) option: the signal sent to this process when its parent dies.
PR_SET_PDEATHSIG = 1


class Signals:
    """Convenient access to signal handlers by name (``signals['INT'] = handler``)."""

    ignored = _signal.SIG_IGN
    default = _signal.SIG_DFL

    def arm_alarm(self, seconds: float) -> None:
        """Deliver SIGALRM after ``seconds`` (fractions allowed)."""
        _signal.setitimer(_signal.ITIMER_REAL, seconds)

    def reset_alarm(self) -> None:
        """Cancel a pending alarm."""
        _signal.alarm(0)

    def supported(self, name: str) -> bool:
        """Return True if this platform has the signal ``name``."""
        try:
            self.signum(name)
        except AttributeError:
            return False
        return True

    def signum(self, name: int | str) -> int:
        """Return the number of a signal given by name (``INT`` or ``SIGINT``) or number."""
        if isinstance(name, numbers.Integral):
            return int(name)
        if not isinstance(name, str) or not name.isupper():
            raise TypeError(f'signal name must be an uppercase string, not {name!r}')
        if not name.startswith('SIG'):
            name = 'SIG' + name
        number: int = getattr(_signal, name)
        return number

    def reset(self, *signal_names: int | str) -> None:
        """Restore the default handler for the named signals that exist here."""
        self.update((sig, self.default) for sig in signal_names)

    def ignore(self, *names: int | str) -> None:
        """Ignore the named signals that exist here."""
        self.update((sig, self.ignored) for sig in names)

    def __getitem__(self, name: int | str) -> SignalHandler:
        return _signal.getsignal(self.signum(name))

    def __setitem__(self, name: int | str, handler: SignalHandler) -> None:
        """Install ``handler`` for signal ``name``; unknown signals are skipped."""
        try:
            _signal.signal(self.signum(name), handler)
        except (AttributeError, ValueError):
            pass

    def update(self, _d_: Iterable[tuple[Any, Any]] | dict[Any, Any] | None = None,
               **sigmap: Any) -> None:
        """Install several handlers at once."""
        items = _d_.items() if isinstance(_d_, dict) else (_d_ or ())
        for name, handler in [*items, *sigmap.items()]:
            self[name] = handler


signals = Signals()
get_signal = signals.signum
reset_signal = signals.reset
ignore_signal = signals.ignore


def signal_name(signum: int) -> str:
    """Return the name of signal number ``signum`` without the ``SIG`` prefix."""
    return _signal.Signals(signum).name[3:]


def set_pdeathsig(name: int | str) -> None:
    """Have the kernel send signal ``name`` to this process when its parent dies.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing is done.
    """
    signum = signals.signum(name)
    if not sys.platform.startswith('linux'):
        return
    libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f'prctl(PR_SET_PDEATHSIG, {signum}) failed')

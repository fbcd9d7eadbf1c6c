"""System information: load average and disk usage."""
from __future__ import annotations

import os
from functools import cached_property
from math import ceil

__all__ = ('df', 'load_average')


def load_average() -> tuple[float, float, float]:
    """Return the 1, 5 and 15 minute load averages, rounded up to two decimals."""
    one, five, fifteen = os.getloadavg()
    return ceil(one * 1e2) / 1e2, ceil(five * 1e2) / 1e2, ceil(fifteen * 1e2) / 1e2


class df:
    """Disk usage of the file system holding ``path`` (sizes in KiB)."""

    def __init__(self, path: str) -> None:
        self.path = path

    @property
    def total_blocks(self) -> float:
        """Size of the file system."""
        return self.stat.f_blocks * self.stat.f_frsize / 1024

    @property
    def available(self) -> float:
        """Space available to unprivileged users."""
        return self.stat.f_bavail * self.stat.f_frsize / 1024

    @property
    def capacity(self) -> int:
        """Percentage of the space in use."""
        avail = self.stat.f_bavail
        used = self.stat.f_blocks - self.stat.f_bfree
        return ceil(used * 100.0 / (used + avail) + 0.5)

    @cached_property
    def stat(self) -> os.statvfs_result:
        """The raw :func:`os.statvfs` result."""
        return os.statvfs(os.path.abspath(self.path))

"""System information: load average, disk usage and the CPUs this process may use."""
from __future__ import annotations

import os
from functools import cached_property
from math import ceil
from typing import Any, NamedTuple

__all__ = ('AUTO_CONCURRENCY', 'CpuBudget', 'available_cpu_count', 'cgroup_cpu_quota',
           'cpu_budget', 'df', 'is_auto_concurrency', 'load_average')

#: Concurrency value meaning "as many as the CPUs this process may use".
AUTO_CONCURRENCY = 'auto'
#: Where the cgroup file systems are mounted.
CGROUP_ROOT = '/sys/fs/cgroup'
#: Lists the cgroups of this process (``hierarchy:controllers:path`` lines).
PROC_SELF_CGROUP = '/proc/self/cgroup'


class CpuBudget(NamedTuple):
    """How many CPUs a process may keep busy, and where the limit comes from."""

    #: CPUs to use: ``available`` capped by the (rounded up) quota, at least 1.
    count: int  # type: ignore[assignment]  # the field hides tuple.count, as in the API
    #: CPUs this process may run on (its affinity mask).
    available: int
    #: CPUs' worth of time the cgroup allows per period, or None when unlimited.
    quota: float | None


def is_auto_concurrency(value: Any) -> bool:
    """Return whether ``value`` asks for automatic concurrency (``'auto'``, any case)."""
    return isinstance(value, str) and value.strip().lower() == AUTO_CONCURRENCY


def available_cpu_count() -> int:
    """Return how many CPUs this process may run on (affinity mask, else all CPUs)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def cgroup_cpu_quota() -> float | None:
    """Return the CPU quota of this process's cgroup in CPUs (e.g. ``1.5``), None when unlimited."""
    for hierarchy, controllers, path in _own_cgroups():
        if hierarchy == '0' and not controllers:  # cgroup v2: "quota period" or "max period"
            fields = _read_cgroup_file(path, 'cpu.max').split()
            if len(fields) == 2 and fields[0] != 'max':
                return _ratio(fields[0], fields[1])
        elif 'cpu' in controllers.split(','):  # cgroup v1
            for mount in ('cpu', 'cpu,cpuacct', 'cpuacct,cpu'):
                quota = _read_cgroup_file(path, 'cpu.cfs_quota_us', mount)
                period = _read_cgroup_file(path, 'cpu.cfs_period_us', mount)
                if quota and period and not quota.startswith('-'):
                    return _ratio(quota, period)
    return None


def cpu_budget(use_cgroup_quota: bool = True) -> CpuBudget:
    """Return the CPUs this process may keep busy, honouring the cgroup quota if asked."""
    available = available_cpu_count()
    quota = cgroup_cpu_quota() if use_cgroup_quota else None
    count = available if quota is None else max(1, min(available, ceil(quota)))
    return CpuBudget(count, available, quota)


def _own_cgroups() -> list[tuple[str, str, str]]:
    try:
        with open(PROC_SELF_CGROUP) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    return [tuple(line.split(':', 2)) for line in lines if line.count(':') >= 2]  # type: ignore[misc]


def _read_cgroup_file(path: str, name: str, mount: str = '') -> str:
    # Inside a container the own cgroup is usually mounted as the root.
    for directory in (os.path.join(CGROUP_ROOT, mount, path.lstrip('/')),
                      os.path.join(CGROUP_ROOT, mount)):
        try:
            with open(os.path.join(directory, name)) as fh:
                return fh.read().strip()
        except OSError:
            continue
    return ''


def _ratio(quota: str, period: str) -> float | None:
    try:
        return int(quota) / int(period) if int(period) > 0 else None
    except ValueError:
        return None


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

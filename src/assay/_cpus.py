"""How many cores this process may use: the cores it is allowed to run on, lowered to its
container's CPU quota.

`os.cpu_count()` counts the machine's cores. In a container limited to 2 CPUs on a 64-core
host it says 64, and boosters started with 64 OpenMP threads on 2 CPUs' worth of time spend
it waiting at barriers for threads the scheduler has parked.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1 = (
    Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
    Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
)


def quota_cpus(quota: str, period: str) -> int | None:
    """CPUs a CFS quota allows (rounded up, at least 1), or None for no limit ("max" or a
    negative quota, as cgroup v2 and v1 write it)."""
    quota, period = quota.strip(), period.strip()
    if quota == "max" or not quota.lstrip("-").isdigit() or not period.isdigit():
        return None
    if int(quota) <= 0 or int(period) <= 0:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def _cgroup_cpus() -> int | None:
    try:
        if _CGROUP_V2.is_file():
            quota, _, period = _CGROUP_V2.read_text().partition(" ")
            return quota_cpus(quota, period or "100000")
        if _CGROUP_V1[0].is_file():
            return quota_cpus(_CGROUP_V1[0].read_text(), _CGROUP_V1[1].read_text())
    except OSError:
        return None
    return None


def usable_cpus() -> int:
    """Cores for this process's threads: the affinity mask's size (where the platform has
    one), capped by the cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_cpus()
    return max(1, min(n, quota) if quota is not None else n)

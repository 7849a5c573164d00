"""How many cores this process may use: the cores it is allowed to run on, lowered to its
container's CPU quota; and how many of them BLAS gets inside scikit-learn's solvers.

`os.cpu_count()` counts the machine's cores. In a container limited to 2 CPUs on a 64-core
host it says 64, and boosters started with 64 OpenMP threads on 2 CPUs' worth of time spend
it waiting at barriers for threads the scheduler has parked.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
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


@cache
def usable_cpus() -> int:
    """Cores for this process's threads: the affinity mask's size (where the platform has
    one), capped by the cgroup CPU quota. Read once: every model fit and prediction asks
    (`models._boosting.n_threads`), and the quota is a file."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_cpus()
    return max(1, min(n, quota) if quota is not None else n)


_controller = None  # threadpoolctl's view of the loaded BLAS libraries, made once


@contextmanager
def blas_threads(n_threads: int | None) -> Iterator[None]:
    """BLAS (OpenBLAS, MKL) limited to `n_threads` inside the block; None leaves it alone.

    scikit-learn's solvers call BLAS on small matrices many times over, where a second
    thread costs more than it gives: a logistic regression on 1,400 rows x 47 columns of
    10 classes fitted in 0.04 s with one OpenBLAS thread and 0.6 s with two on this
    project's idle 2-core machine (2.1 s with two other busy processes). A controller made
    once sets and restores the limit in about 0.02 ms, so predictions can afford it."""
    global _controller
    if n_threads is None:
        yield
        return
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=n_threads, user_api="blas"):
        yield


@contextmanager
def torch_threads_kept(n_threads: int | None = None) -> Iterator[None]:
    """Torch's thread count as it was before the block, whatever the block set (`n_threads`:
    what torch uses inside it, None to leave it). Torch's count is the process's: a model
    that set it and left it, or XGBoost's `config_context(nthread=1)` (it calls
    omp_set_num_threads in the OpenMP runtime torch shares and does not set it back), left
    the sentence encoder on one thread for the rest of the process (SST-2's 1,821 test
    sentences: 10.5 s on one thread against 6.1 s on two, on this project's idle 2-core
    machine). Torch not imported: nothing to keep."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None and n_threads is not None:
        torch.set_num_threads(max(1, int(n_threads)))
    try:
        yield
    finally:
        if torch is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)

"""Cores for model threads: the affinity mask, capped by a container's CPU quota."""

import os

import pytest

from assay._cpus import quota_cpus, usable_cpus


@pytest.mark.parametrize(
    ("quota", "period", "cpus"),
    [
        ("max", "100000", None),  # cgroup v2: no limit
        ("-1", "100000", None),  # cgroup v1: no limit
        ("200000", "100000", 2),
        ("150000", "100000\n", 2),  # a part of a CPU is a thread's worth
        ("50000", "100000", 1),
        ("0", "100000", None),
        ("garbage", "100000", None),
        ("200000", "0", None),
    ],
)
def test_a_cpu_quota_becomes_a_count_of_cores(quota, period, cpus):
    assert quota_cpus(quota, period) == cpus


def test_usable_cpus_never_exceeds_the_cores_the_process_may_run_on():
    n = usable_cpus()
    assert 1 <= n <= len(os.sched_getaffinity(0))
